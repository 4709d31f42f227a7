import { type Static, Type } from '@sinclair/typebox';
import { type Actor, AppError, allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import { recordIssuedChunk } from './batch-record.ts';
import { BatchView, readBatch } from './batches.ts';
import { type BatchIssueAnswer, caRefusal } from './ca-client.ts';
import { DownloadCode } from './download-codes.ts';
import { recordIssueFailure } from './issue-failure.ts';
import { type IssuableRow, issueInstructionOf } from './issue-instruction.ts';
import { leaseSeconds } from './issue-retrier.ts';
import { actorOf, IdParams, type RaContext } from './ra-context.ts';

/** Rows per CA instruction: one RA signature each, and an answer well inside the CA's body and time limits. */
export const chunkRows = 100;

/** Chunks in flight: the CA signs one while the RA records the answer of the other. */
const chunksInFlight = 2;

/** Refusals recorded at once, each one statement with its audit record. */
const recordConcurrency = 8;

const IssuedRow = Type.Object({
  rowNumber: Type.Integer(),
  applicationId: Type.String(),
  serial: Type.String(),
  download: DownloadCode,
});
const FailedRow = Type.Object({ rowNumber: Type.Integer(), code: Type.String(), message: Type.String() });

const BatchIssueView = Type.Object({
  batch: BatchView,
  issued: Type.Array(IssuedRow, {
    description: "each holder's reference number and authorisation code, shown only here",
  }),
  failed: Type.Array(FailedRow),
  stopped: Type.Optional(
    Type.Object(
      { code: Type.String(), message: Type.String() },
      {
        description:
          'the CA could not be reached: the rows not issued stay approved; the retrier or a new call issues them',
      },
    ),
  ),
});
type BatchIssueView = Static<typeof BatchIssueView>;

type Claimed = IssuableRow & { id: string; batch_row: number; ca_request_id: string };

/**
 * Leases the next approved rows of the batch, each under the CA request id it keeps for good:
 * a row a crashed RA left claimed is taken again once its lease ran out, and a row whose last
 * CA call failed before this call `since` at once (the maker asks again, as for a single
 * application; one that failed in this call waits for the retrier), under the same
 * id, so the CA answers it with the certificate it may have issued already, never a second
 * one. SKIP LOCKED lets the retrier and another call of this route share the rows. The
 * failure stays in the audit log; the application shows the current attempt's.
 */
async function claimChunk(ctx: RaContext, actor: Actor, batchId: string, since: Date): Promise<Claimed[]> {
  const { rows } = await ctx.pool.query({
    name: 'ra-claim-batch-chunk',
    text: `WITH due AS (
             SELECT id FROM applications
              WHERE batch_id = $1 AND status = 'approved'
                AND (ca_request_id IS NULL OR next_issue_attempt_at <= now() OR (issue_error->>'at')::timestamptz < $6)
              ORDER BY batch_row LIMIT $2 FOR UPDATE SKIP LOCKED
           ), claimed AS (
             UPDATE applications a SET ca_request_id = coalesce(a.ca_request_id, gen_random_uuid()::text),
                                       next_issue_attempt_at = now() + make_interval(secs => $3), issue_error = NULL
               FROM due WHERE a.id = due.id
             RETURNING a.id, a.batch_row, a.holder_type, a.holder, a.profile, a.template, a.template_version,
                       a.encryption_template, a.encryption_template_version, a.holder_key, a.csr, a.dual,
                       a.ca_request_id
           ), audit AS (
             INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
             SELECT $4, $5, 'application.issue_request', 'application', id::text,
                    jsonb_build_object('caRequestId', ca_request_id, 'batchId', $1::text)
               FROM claimed
           )
           SELECT * FROM claimed ORDER BY batch_row`,
    values: [batchId, chunkRows, leaseSeconds, actor.name, actor.role, since],
  });
  return rows.map((r) => ({ ...r, id: String(r.id) }));
}

async function eachLimited<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Records the CA's answer: the issued rows together, each with its download code, as a single
 * issuance records its own; a refused row its error (permanent: failed; otherwise the retrier's turn).
 */
async function recordChunk(
  ctx: RaContext,
  actor: Actor & { id: string },
  chunk: Claimed[],
  answer: BatchIssueAnswer,
  view: BatchIssueView,
): Promise<void> {
  const issued: { row: Claimed; answer: Extract<BatchIssueAnswer['results'][number], { serial: string }> }[] =
    [];
  const refused: { row: Claimed; refusal: AppError }[] = [];
  chunk.forEach((row, index) => {
    const result = answer.results[index]!;
    if ('error' in result) {
      refused.push({ row, refusal: caRefusal(result.error.status, result.error.code, result.error.message) });
    } else {
      issued.push({ row, answer: result });
    }
  });
  const downloads = await recordIssuedChunk(
    ctx,
    actor,
    issued.map(({ row, answer }) => ({ id: row.id, answer })),
  );
  for (const { row, answer } of issued) {
    const download = downloads.get(row.id);
    if (download) {
      view.issued.push({ rowNumber: row.batch_row, applicationId: row.id, serial: answer.serial, download });
    }
  }
  await eachLimited(refused, recordConcurrency, async ({ row, refusal }) => {
    await recordIssueFailure(ctx.pool, actor, row.id, refusal);
    view.failed.push({ rowNumber: row.batch_row, code: refusal.code, message: refusal.message });
  });
}

/**
 * Issues every approved row of a batch, chunk by chunk, each chunk one signed instruction.
 * A call that stops (the RA or CA down) is resumed by calling it again, or by the retrier.
 */
async function issueBatchRows(ctx: RaContext, actor: Actor & { id: string }, batchId: string) {
  const since = new Date();
  const view: BatchIssueView = { batch: await readBatch(ctx.pool, batchId), issued: [], failed: [] };
  let done = false;
  // Claims one after the other, so each chunk is as full as the rows allow (two workers claiming
  // at once could split a short batch between them); only the CA calls overlap.
  let claiming: Promise<unknown> = Promise.resolve();
  const claimNext = () => {
    const claimed = claiming.then(() => claimChunk(ctx, actor, batchId, since));
    claiming = claimed.catch(() => {});
    return claimed;
  };
  const worker = async () => {
    while (!done) {
      const chunk = await claimNext();
      if (chunk.length === 0) {
        done = true;
        return;
      }
      let answer: BatchIssueAnswer;
      try {
        answer = await ctx.ca.issueBatch(chunk.map((row) => issueInstructionOf(row, row.ca_request_id)));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        done = true;
        view.stopped = { code: err.code, message: err.message };
        await eachLimited(chunk, recordConcurrency, async (row) => {
          await recordIssueFailure(ctx.pool, actor, row.id, err);
        });
        return;
      }
      await recordChunk(ctx, actor, chunk, answer, view);
    }
  };
  await Promise.all(Array.from({ length: chunksInFlight }, worker));
  view.issued.sort((a, b) => a.rowNumber - b.rowNumber);
  view.failed.sort((a, b) => a.rowNumber - b.rowNumber);
  view.batch = await readBatch(ctx.pool, batchId);
  return view;
}

export function registerBatchIssueRoute(app: HttpServer, ctx: RaContext): void {
  app.post(
    '/v1/batches/:id/issue',
    {
      config: { access: allowedTo('application.issue') },
      schema: {
        tags: ['batches'],
        summary:
          "A certificate maker has the CA issue a batch's approved rows in one operation; GET the batch for progress. Answers each issued row's download code, shown only here",
        params: IdParams,
        response: {
          200: withExample(BatchIssueView, {
            batch: {
              id: '42',
              enteredBy: '7',
              enteredAt: '2026-12-03T02:15:00.000Z',
              format: 'json',
              deadline: null,
              counts: { rows: 2, invalid: 0, submitted: 0, approved: 0, rejected: 0, issued: 2, failed: 0 },
            },
            issued: [
              {
                rowNumber: 1,
                applicationId: '1001',
                serial: '5c1d0e7b92a4f3086e1bd2c4a97f0e21',
                download: {
                  reference: '482913570264',
                  code: 'K7QP-M2XD-9RTA-4HVB',
                  expiresAt: '2026-12-10T02:20:00.000Z',
                },
              },
            ],
            failed: [
              { rowNumber: 2, code: 'KEY_REUSED', message: 'the key is certified for another holder' },
            ],
          }),
        },
      },
    },
    async (request) => issueBatchRows(ctx, actorOf(request), request.params.id),
  );
}
