import { Type } from '@sinclair/typebox';
import { AppError, withExample } from '@sm2ca/platform';
import { type IssuanceContext, issueCertificate } from './issuance.ts';
import type { IssueInstruction } from './issue-instruction.ts';

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
 */
export async function issueBatch(
  context: IssuanceContext,
  checkIssue: (body: unknown) => IssueInstruction,
  instruction: { timestamp: string; items: { requestId: string }[] },
): Promise<{ results: ItemResult[] }> {
  const { items, timestamp } = instruction;
  const results: ItemResult[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
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
  await Promise.all(Array.from({ length: Math.min(itemConcurrency, items.length) }, worker));
  return { results };
}
