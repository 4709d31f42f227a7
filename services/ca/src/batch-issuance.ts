import { Type } from '@sinclair/typebox';
import { assembleCertificate } from '@sm2ca/pki';
import { AppError, withExample } from '@sm2ca/platform';
import { type ChunkPlan, planChunk, storeChunk } from './batch-statements.ts';
import { subjectText } from './certificate-fields.ts';
import { type IssuanceContext, issueCertificate, planCertificate, resultOf } from './issuance.ts';
import type { IssueInstruction } from './issue-instruction.ts';
import { requireUsableIssuer } from './issuers.ts';
import { instructionDigest } from './request-ledger.ts';

/** Items per batch instruction: the RA sends a large batch in chunks, each signed once. */
export const maxBatchItems = 500;

/**
 * Items in flight at once: enough to keep the device and the database busy while one item
 * waits on the other, few enough that one chunk does not starve single instructions.
 */
const itemConcurrency = 16;

/**
 * A chunk's plain items go in groups, two at a time: while one group's statements and
 * signatures are with PostgreSQL and the device, the next is planned, so both cores work.
 */
const groupSize = 100;
const groupConcurrency = 2;

/**
 * Issue instructions under one RA signature. Each item is an issue instruction without the
 * envelope (timestamp, operation) and keeps its own request id: the request ledger answers a
 * chunk sent again with the certificates it already issued, item by item.
 */
export const BatchIssueInstructionSchema = Type.Object(
  {
    requestId: Type.String(),
    timestamp: Type.String(),
    operation: Type.Literal('issue-batch'),
    items: Type.Array(Type.Object({ requestId: Type.String() }), { minItems: 1, maxItems: maxBatchItems }),
  },
  { additionalProperties: false },
);

export const BatchIssueInstructionBody = withExample(BatchIssueInstructionSchema, {
  requestId: '6f1c2e0a-5b7d-4c3e-9a21-0d8f4b6e2c11',
  timestamp: '2026-12-03T02:20:00.000Z',
  operation: 'issue-batch',
  items: [{ requestId: '0b6c1f4e-8d1a-4a57-9a43-2f1f8c0f5d11' }],
});

export const BatchIssueResultSchema = Type.Object({
  results: Type.Array(
    Type.Union([
      Type.Object({ requestId: Type.String(), issuerId: Type.String(), serial: Type.String() }),
      Type.Object({
        requestId: Type.String(),
        error: Type.Object({ code: Type.String(), message: Type.String(), status: Type.Integer() }),
      }),
    ]),
  ),
});

type ItemResult =
  | { requestId: string; issuerId: string; serial: string }
  | { requestId: string; error: { code: string; message: string; status: number } };

/**
 * Each item checked as a single instruction is (schema, CSR, profile, key reuse) and issued;
 * a refused item is answered with its code and never stops the others. The answer carries
 * serials only: the certificates are in the CA's store, where the RA's download path reads them.
 * The chunk's new items go in groups, each planned in one statement, signed, and stored in one
 * statement: per item the database rows are those of a single issue, without two round trips
 * per certificate.
 * Whatever is not plain (a refusal, a retry, a dual issue, a key or request id twice in the chunk,
 * an item a twin took meanwhile) goes the single issue path, which answers it as it always has.
 */
export async function issueBatch(
  context: IssuanceContext,
  checkIssue: (body: unknown) => IssueInstruction,
  instruction: { timestamp: string; items: { requestId: string }[] },
): Promise<{ results: ItemResult[] }> {
  const { items, timestamp } = instruction;
  const results: ItemResult[] = new Array(items.length);
  const single = new Set(items.keys());
  const groups: number[][] = [];
  for (let start = 0; start < items.length; start += groupSize) {
    groups.push([...single].slice(start, start + groupSize));
  }
  const claimed: Claimed = { keys: new Set(), requestIds: new Set() };
  // Each group claims its keys and request ids after the group before it, so which of two
  // items with one key is issued does not depend on timing.
  const opens: (() => void)[] = [];
  const turns = groups.map(() => new Promise<void>((resolve) => opens.push(resolve)));
  let nextGroup = 0;
  const runner = async () => {
    while (nextGroup < groups.length) {
      const g = nextGroup++;
      let planned: PlannedItem[];
      try {
        const plans = await planGroup(context, checkIssue, instruction, groups[g]!);
        if (g > 0) await turns[g - 1];
        planned = claimPlans(plans, claimed);
      } finally {
        opens[g]!();
      }
      for (const { index, serial } of await issuePlanned(context, planned)) {
        results[index] = { requestId: items[index]!.requestId, issuerId: context.issuingCa.id, serial };
        single.delete(index);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(groupConcurrency, groups.length) }, runner));
  const rest = [...single];
  let next = 0;
  const worker = async () => {
    while (next < rest.length) {
      const index = rest[next++]!;
      const item = items[index]!;
      try {
        const issued = await issueCertificate(
          context,
          checkIssue({ ...item, timestamp, operation: 'issue' }),
        );
        results[index] = { requestId: item.requestId, issuerId: issued.issuerId, serial: issued.serial };
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        results[index] = {
          requestId: item.requestId,
          error: { code: err.code, message: err.message, status: err.status },
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(itemConcurrency, rest.length) }, worker));
  return { results };
}

interface PlannedItem {
  index: number;
  instruction: IssueInstruction;
  plan: ChunkPlan;
}

/** The items of `indices` that plan without a refusal and are plain signature certificates. */
async function planGroup(
  context: IssuanceContext,
  checkIssue: (body: unknown) => IssueInstruction,
  { items, timestamp }: { timestamp: string; items: { requestId: string }[] },
  indices: number[],
) {
  const plans = await Promise.all(
    indices.map(async (index) => {
      try {
        const instruction = checkIssue({ ...items[index]!, timestamp, operation: 'issue' });
        if (instruction.encryption) return undefined;
        return { index, instruction, plan: await planCertificate(context, instruction) };
      } catch {
        // The single path plans it again and answers the refusal, or a retry's stored answer.
        return undefined;
      }
    }),
  );
  return plans.filter((p) => p !== undefined);
}

interface Claimed {
  keys: Set<string>;
  requestIds: Set<string>;
}

/** The plans whose key and request id no earlier item of the chunk claimed, in item order. */
function claimPlans(plans: Awaited<ReturnType<typeof planGroup>>, claimed: Claimed): PlannedItem[] {
  const planned: PlannedItem[] = [];
  for (const { index, instruction, plan } of plans) {
    const key = plan.binding.spkiSha256.toString('hex');
    if (claimed.keys.has(key) || claimed.requestIds.has(instruction.requestId)) continue;
    claimed.keys.add(key);
    claimed.requestIds.add(instruction.requestId);
    planned.push({
      index,
      instruction,
      plan: {
        requestId: instruction.requestId,
        digest: instructionDigest(instruction as unknown as Record<string, unknown>),
        serial: Buffer.from(plan.parsed.serialNumber).toString('hex'),
        profile: instruction.profile,
        subject: subjectText(instruction),
        tbs: plan.tbs,
        notBefore: plan.parsed.notBefore,
        notAfter: plan.parsed.notAfter,
        holderKey: instruction.holderKey ?? null,
        binding: plan.binding,
      },
    });
  }
  return planned;
}

/**
 * Plans, signs and stores the planned items; those it issued, with their serials. An item left
 * out is one the single path is to finish: planned by a twin, refused, or not signed.
 */
async function issuePlanned(
  context: IssuanceContext,
  planned: PlannedItem[],
): Promise<{ index: number; serial: string }[]> {
  if (planned.length === 0) return [];
  const issuerId = context.issuingCa.id;
  let recorded: Set<string>;
  try {
    recorded = await planChunk(
      context.pool,
      issuerId,
      planned.map((p) => p.plan),
    );
  } catch (err) {
    // A key bound under a request id a twin took meanwhile: the single path sorts out which.
    const { code, constraint } = err as { code?: string; constraint?: string };
    if (code === '23503' && constraint === 'certified_keys_first_issuer_id_first_serial_fkey') return [];
    throw err;
  }
  const toSign = planned.filter((p) => recorded.has(p.plan.requestId));
  if (toSign.length === 0) return [];
  try {
    // Once for the chunk, right before its signatures: a refusal is the single path's to answer.
    await requireUsableIssuer(context.pool, context.issuers, issuerId);
  } catch (err) {
    if (err instanceof AppError) return [];
    throw err;
  }
  const keyLabel = context.issuers.get(issuerId)!.keyLabel;
  const signed = (
    await Promise.all(
      toSign.map(async ({ index, instruction, plan }) => {
        let signature: Uint8Array;
        try {
          signature = await context.device.sign(keyLabel, plan.tbs);
        } catch {
          // Planned, so the single path signs it again under the same request id, or answers why not.
          return undefined;
        }
        const certificate = assembleCertificate(plan.tbs, signature);
        return {
          index,
          serial: plan.serial,
          certificate,
          requestId: plan.requestId,
          profile: instruction.profile,
          response: resultOf(context, issuerId, plan.serial, certificate),
          audit: { profile: instruction.profile, requestId: plan.requestId },
        };
      }),
    )
  ).filter((s) => s !== undefined);
  if (signed.length === 0) return [];
  const stored = await storeChunk(context.pool, issuerId, signed);
  const issued = signed.filter((s) => stored.has(s.serial));
  for (const { profile } of issued) context.issued.inc({ profile });
  return issued.map(({ index, serial }) => ({ index, serial }));
}
