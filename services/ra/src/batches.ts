import { type Static, Type } from '@sinclair/typebox';
import {
  AppError,
  allowedTo,
  type HttpServer,
  keyReuseRefusals,
  Paging,
  recordAudit,
  withExample,
  workingDayDeadline,
} from '@sm2ca/platform';
import { type PoolClient, withTransaction } from '@sm2ca/store';
import { decisionWorkingDays } from './applications.ts';
import { type BadRow, checkRowCount, type GoodRow, rowsOfCsv, rowsOfJson, vetRows } from './batch-rows.ts';
import { csrKeyBinding } from './holder-csr.ts';
import {
  actorOf,
  IdParams,
  iso,
  literals,
  Nullable,
  type RaContext,
  requireReason,
  Time,
} from './ra-context.ts';

/** 10,000 rows of a few kilobytes each, with room for PEM armour. */
const batchBodyLimit = 64 * 1024 * 1024;

const Counts = Type.Object({
  rows: Type.Integer(),
  invalid: Type.Integer({ description: 'rows refused at entry, never applications' }),
  submitted: Type.Integer(),
  approved: Type.Integer({ description: 'approved and not issued yet: pending issuance' }),
  rejected: Type.Integer(),
  issued: Type.Integer(),
  failed: Type.Integer(),
});

export const BatchView = Type.Object({
  id: Type.String(),
  enteredBy: Type.String(),
  enteredAt: Time,
  format: literals(['json', 'csv']),
  deadline: Nullable(Time),
  counts: Counts,
});
export type BatchView = Static<typeof BatchView>;

const RowView = Type.Object({
  rowNumber: Type.Integer(),
  status: literals(['invalid', 'submitted', 'approved', 'rejected', 'issued', 'failed']),
  applicationId: Nullable(Type.String()),
  code: Nullable(Type.String({ description: 'an invalid row: why, a stable machine code' })),
  message: Nullable(Type.String()),
  serial: Nullable(Type.String()),
});

const BatchReviewBody = Type.Object(
  {
    decision: literals(['approve', 'reject']),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    rows: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1 }), {
        minItems: 1,
        maxItems: 10_000,
        description: 'the row numbers to decide; all submitted rows when absent',
      }),
    ),
  },
  { additionalProperties: false },
);

const RowRefusal = Type.Object({ rowNumber: Type.Integer(), code: Type.String(), message: Type.String() });

const batchExample: BatchView = {
  id: '42',
  enteredBy: '7',
  enteredAt: '2026-12-03T02:15:00.000Z',
  format: 'csv',
  deadline: '2026-12-07T02:15:00.000Z',
  counts: { rows: 100, invalid: 1, submitted: 0, approved: 20, rejected: 0, issued: 79, failed: 0 },
};
const refusalExample = {
  rowNumber: 17,
  code: 'IDENTITY_INVALID',
  message: 'residentId must be a GB 11643 number',
};

export async function readBatch(db: PoolClient | RaContext['pool'], id: string): Promise<BatchView> {
  const { rows } = await db.query(
    `SELECT b.id, b.entered_by, b.entered_at, b.format, b.row_count,
            (SELECT count(*) FROM batch_rejected_rows r WHERE r.batch_id = b.id)::int AS invalid,
            s.submitted, s.approved, s.rejected, s.issued, s.failed, s.deadline
       FROM batches b,
            LATERAL (SELECT count(*) FILTER (WHERE status = 'submitted')::int AS submitted,
                            count(*) FILTER (WHERE status = 'approved')::int AS approved,
                            count(*) FILTER (WHERE status = 'rejected')::int AS rejected,
                            count(*) FILTER (WHERE status = 'issued')::int AS issued,
                            count(*) FILTER (WHERE status = 'failed')::int AS failed,
                            min(deadline) FILTER (WHERE status = 'submitted') AS deadline
                       FROM applications a WHERE a.batch_id = b.id) s
      WHERE b.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) throw new AppError('BATCH_NOT_FOUND', `no batch ${id}`, 404);
  return {
    id: String(row.id),
    enteredBy: String(row.entered_by),
    enteredAt: iso(row.entered_at)!,
    format: row.format,
    deadline: iso(row.deadline),
    counts: {
      rows: row.row_count,
      invalid: row.invalid,
      submitted: row.submitted,
      approved: row.approved,
      rejected: row.rejected,
      issued: row.issued,
      failed: row.failed,
    },
  };
}

/** Rows per INSERT: each statement carries its rows and their audit records. */
const insertChunk = 1000;

async function enterRows(
  client: PoolClient,
  actor: ReturnType<typeof actorOf>,
  batchId: string,
  good: GoodRow[],
  bad: BadRow[],
): Promise<void> {
  const receivedAt = new Date();
  const deadline = workingDayDeadline(receivedAt, decisionWorkingDays);
  for (let start = 0; start < good.length; start += insertChunk) {
    const chunk = good.slice(start, start + insertChunk);
    await client.query(
      `WITH entered AS (
         INSERT INTO applications (status, holder_type, holder, holder_key, profile, csr, publish_consent,
                                   entered_by, entered_at, deadline, deadline_provisional, dual, batch_id, batch_row,
                                   template, template_version)
         SELECT 'submitted', r.holder_type, r.holder, r.holder_key, r.profile, r.csr, r.publish_consent,
                $7, $8, $9, $10, false, $11, r.batch_row, r.template, r.template_version
           FROM unnest($1::text[], $2::jsonb[], $3::text[], $4::text[], $5::bytea[], $6::boolean[], $12::int[],
                       $16::text[], $15::int[])
                AS r(holder_type, holder, holder_key, profile, csr, publish_consent, batch_row, template,
                     template_version)
         RETURNING id, profile, holder_key, batch_row
       )
       INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
       SELECT $13, $14, 'application.submit', 'application', id::text,
              jsonb_build_object('status', 'submitted', 'profile', profile, 'holderKey', holder_key,
                                 'batchId', $11::text, 'batchRow', batch_row)
         FROM entered`,
      [
        chunk.map((g) => g.row.holderType),
        chunk.map((g) => JSON.stringify(g.vetted.holder)),
        chunk.map((g) => g.vetted.holderKey),
        chunk.map((g) => g.vetted.profile.id),
        chunk.map((g) => Buffer.from(g.csr)),
        chunk.map((g) => g.row.publishConsent),
        actor.id,
        receivedAt,
        deadline.at,
        deadline.provisional,
        batchId,
        chunk.map((g) => g.rowNumber),
        actor.name,
        actor.role,
        chunk.map((g) => g.template.version),
        chunk.map((g) => g.template.name),
      ],
    );
  }
  for (let start = 0; start < bad.length; start += insertChunk) {
    const chunk = bad.slice(start, start + insertChunk);
    await client.query(
      `INSERT INTO batch_rejected_rows (batch_id, row_number, code, message)
       SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[])`,
      [batchId, chunk.map((b) => b.rowNumber), chunk.map((b) => b.code), chunk.map((b) => b.message)],
    );
  }
}

/**
 * A batch never changes once entered (the RA may only insert batches), so it is read without a
 * lock: FOR SHARE would need an UPDATE grant the RA's database role does not have.
 */
async function readBatchEntry(client: PoolClient, id: string): Promise<{ entered_by: string }> {
  const { rows } = await client.query('SELECT entered_by FROM batches WHERE id = $1', [id]);
  if (!rows[0]) throw new AppError('BATCH_NOT_FOUND', `no batch ${id}`, 404);
  return { entered_by: String(rows[0].entered_by) };
}

export function registerBatchRoutes(app: HttpServer, ctx: RaContext): void {
  app.addContentTypeParser(
    'text/csv',
    { parseAs: 'string', bodyLimit: batchBodyLimit },
    (_request, body, done) => done(null, body),
  );

  app.post(
    '/v1/batches',
    {
      bodyLimit: batchBodyLimit,
      config: { access: allowedTo('application.enter') },
      schema: {
        tags: ['batches'],
        summary:
          'An entry clerk submits a batch of applications (JSON { rows } or text/csv, up to 10,000 rows); each row is checked on its own and a bad row is reported without spoiling the others',
        response: {
          201: withExample(Type.Object({ batch: BatchView, invalid: Type.Array(RowRefusal) }), {
            batch: {
              ...batchExample,
              counts: { ...batchExample.counts, submitted: 99, approved: 0, issued: 0 },
            },
            invalid: [refusalExample],
          }),
        },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const csv = typeof request.body === 'string';
      const raw = csv ? rowsOfCsv(request.body as string) : rowsOfJson(request.body);
      checkRowCount(raw);
      const { good, bad } = await vetRows(ctx, raw);
      const batch = await withTransaction(ctx.pool, async (client) => {
        const { rows } = await client.query(
          'INSERT INTO batches (entered_by, format, row_count) VALUES ($1, $2, $3) RETURNING id',
          [actor.id, csv ? 'csv' : 'json', raw.length],
        );
        const id = String(rows[0].id);
        await enterRows(client, actor, id, good, bad);
        const view = await readBatch(client, id);
        await recordAudit(client, actor, {
          action: 'batch.submit',
          subjectType: 'batch',
          subjectId: id,
          after: { counts: view.counts, invalid: bad.map(({ rowNumber, code }) => ({ rowNumber, code })) },
        });
        return view;
      });
      return reply.status(201).send({ batch, invalid: bad });
    },
  );

  app.get(
    '/v1/batches/:id',
    {
      config: { access: allowedTo('application.read') },
      schema: {
        tags: ['batches'],
        summary:
          'A batch with its progress: rows invalid, submitted, approved (pending issuance), issued, failed',
        params: IdParams,
        response: { 200: withExample(BatchView, batchExample) },
      },
    },
    async (request) => readBatch(ctx.pool, request.params.id),
  );

  app.get(
    '/v1/batches/:id/rows',
    {
      config: { access: allowedTo('application.read') },
      schema: {
        tags: ['batches'],
        summary: "A batch's rows in order, each with its application or the code it was refused with",
        params: IdParams,
        querystring: Type.Object(Paging),
        response: {
          200: withExample(Type.Object({ items: Type.Array(RowView) }), {
            items: [
              {
                rowNumber: 16,
                status: 'issued',
                applicationId: '1016',
                code: null,
                message: null,
                serial: '5c1d0e7b92a4f3086e1bd2c4a97f0e21',
              },
              { ...refusalExample, status: 'invalid', applicationId: null, serial: null },
            ],
          }),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { limit, offset } = request.query;
      await readBatch(ctx.pool, id);
      const { rows } = await ctx.pool.query(
        `SELECT batch_row AS row_number, status, id::text AS application_id, NULL AS code, NULL AS message, serial
           FROM applications WHERE batch_id = $1
         UNION ALL
         SELECT row_number, 'invalid', NULL, code, message, NULL FROM batch_rejected_rows WHERE batch_id = $1
         ORDER BY row_number LIMIT $2 OFFSET $3`,
        [id, limit, offset],
      );
      return {
        items: rows.map((r) => ({
          rowNumber: r.row_number,
          status: r.status,
          applicationId: r.application_id,
          code: r.code,
          message: r.message,
          serial: r.serial,
        })),
      };
    },
  );

  app.post(
    '/v1/batches/:id/review',
    {
      config: { access: allowedTo('application.review') },
      schema: {
        tags: ['batches'],
        summary:
          "A reviewer other than the batch's entry clerk approves or rejects all its submitted rows, or the listed ones",
        params: IdParams,
        body: withExample(BatchReviewBody, {
          decision: 'reject',
          reason: 'identity not confirmed',
          rows: [3, 7],
        }),
        response: {
          200: Type.Object({ batch: BatchView, decided: Type.Integer(), refused: Type.Array(RowRefusal) }),
        },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { id } = request.params;
      const { decision, reason, rows: listed } = request.body;
      requireReason(decision, reason);
      return withTransaction(ctx.pool, async (client) => {
        const batch = await readBatchEntry(client, id);
        if (batch.entered_by === actor.id) {
          throw new AppError('SAME_OPERATOR', 'the operator who entered a batch may not review it', 403);
        }
        const { rows } = await client.query(
          `SELECT id::text, batch_row, status, csr, holder_key, profile FROM applications
            WHERE batch_id = $1 AND ($2::int[] IS NULL OR batch_row = ANY($2))
            ORDER BY batch_row FOR UPDATE`,
          [id, listed ?? null],
        );
        const refused: Static<typeof RowRefusal>[] = [];
        const found = new Set(rows.map((r) => r.batch_row as number));
        for (const rowNumber of listed ?? []) {
          if (!found.has(rowNumber)) {
            refused.push({
              rowNumber,
              code: 'ROW_NOT_FOUND',
              message: `row ${rowNumber} is no application of the batch`,
            });
          }
        }
        // The key may have been certified elsewhere since entry, as at a single review.
        const open = rows.filter((row) => row.status === 'submitted');
        const keyRefusals =
          decision === 'approve'
            ? await keyReuseRefusals(
                client,
                open.map((row) => csrKeyBinding(row.csr, row.holder_key, row.profile)),
              )
            : [];
        const keyRefusalOf = new Map(open.map((row, i) => [row, keyRefusals[i]]));
        const decide: string[] = [];
        for (const row of rows) {
          if (row.status !== 'submitted') {
            if (listed) {
              refused.push({
                rowNumber: row.batch_row,
                code: 'APPLICATION_ALREADY_REVIEWED',
                message: `row ${row.batch_row} is already ${row.status}`,
              });
            }
            continue;
          }
          const refusal = keyRefusalOf.get(row);
          if (refusal) {
            refused.push({ rowNumber: row.batch_row, code: refusal.code, message: refusal.message });
            continue;
          }
          decide.push(row.id);
        }
        const status = decision === 'approve' ? 'approved' : 'rejected';
        await client.query(
          `WITH decided AS (
             UPDATE applications SET status = $2, reviewed_by = $3, reviewed_at = now(), review_reason = $4
              WHERE id = ANY($1::bigint[]) RETURNING id
           )
           INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, before, after)
           SELECT $5, $6, $7, 'application', id::text, '{"status":"submitted"}'::jsonb,
                  jsonb_build_object('status', $2::text, 'reviewReason', $4::text, 'batchId', $8::text)
             FROM decided`,
          [
            decide,
            status,
            actor.id,
            reason?.trim() ?? null,
            actor.name,
            actor.role,
            `application.${decision}`,
            id,
          ],
        );
        const view = await readBatch(client, id);
        await recordAudit(client, actor, {
          action: `batch.${decision}`,
          subjectType: 'batch',
          subjectId: id,
          after: { decided: decide.length, refused, counts: view.counts },
        });
        return { batch: view, decided: decide.length, refused };
      });
    },
  );
}
