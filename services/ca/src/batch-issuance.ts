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
 * The chunk's new items are planned in one statement, signed, and stored in one statement: per
 * item the database rows are those of a single issue, without two round trips per certificate.
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
  const planned = await planItems(context, checkIssue, instruction);
  const issued = await issuePlanned(context, planned);
  for (const { index, serial } of issued) {
    results[index] = { requestId: items[index]!.requestId, issuerId: context.issuingCa.id, serial };
    single.delete(index);
  }
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

/** The items that plan without a refusal and are plain signature certificates, each key and request id once. */
async function planItems(
  context: IssuanceContext,
  checkIssue: (body: unknown) => IssueInstruction,
  { items, timestamp }: { timestamp: string; items: { requestId: string }[] },
): Promise<PlannedItem[]> {
  const plans = await Promise.all(
    items.map(async (item, index) => {
      try {
        const instruction = checkIssue({ ...item, timestamp, operation: 'issue' });
        if (instruction.encryption) return undefined;
        return { index, instruction, plan: await planCertificate(context, instruction) };
      } catch {
        // The single path plans it again and answers the refusal, or a retry's stored answer.
        return undefined;
      }
    }),
  );
  const planned: PlannedItem[] = [];
  const keys = new Set<string>();
  const requestIds = new Set<string>();
  // In item order, so which of two items with one key is issued does not depend on timing.
  for (const { index, instruction, plan } of plans.filter((p) => p !== undefined)) {
    const key = plan.binding.spkiSha256.toString('hex');
    if (keys.has(key) || requestIds.has(instruction.requestId)) continue;
    keys.add(key);
    requestIds.add(instruction.requestId);
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
