import { PassThrough } from 'node:stream';
import { Type } from '@sinclair/typebox';
import {
  AppError,
  AUDIT_RECORD_COLUMNS,
  allowedTo,
  auditRecordFromRow,
  exportAudit,
  type HttpServer,
  parseDateTime,
  recordAudit,
  withExample,
} from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { actorOf, type RaContext } from './ra-context.ts';

const Time = Type.String({ format: 'date-time' });

const RecordQuery = Type.Object({
  from: Type.Optional(Time),
  to: Type.Optional(Time),
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  action: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'an action (certificate.revoke), or a family with a trailing dot (certificate.)',
    }),
  ),
  subjectType: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  subjectId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  afterId: Type.Optional(
    Type.String({ pattern: '^[0-9]{1,18}$', description: 'the last id of the previous page' }),
  ),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
});

const AuditRecordView = Type.Object({
  id: Type.String(),
  at: Type.String(),
  actor: Type.String(),
  actorRole: Type.String(),
  action: Type.String(),
  subjectType: Type.String(),
  subjectId: Type.String(),
  before: Type.Union([Type.String(), Type.Null()]),
  after: Type.Union([Type.String(), Type.Null()]),
  seq: Type.Union([Type.Integer(), Type.Null()], {
    description: 'place in the SM3 chain; null until sealed',
  }),
});

const recordExample = {
  id: '1187',
  at: '2026-12-02T03:04:05.123456Z',
  actor: 'Wang Shen',
  actorRole: 'reviewer',
  action: 'revocation.approve',
  subjectType: 'revocation',
  subjectId: '17',
  before: '{"status": "submitted"}',
  after: '{"status": "approved"}',
  seq: 1180,
};

/** An action family filter matches by prefix; `%` and `_` in it are literal, not wildcards. */
function actionPattern(action: string): string {
  const literal = action.replace(/[\\%_]/g, (c) => `\\${c}`);
  return action.endsWith('.') ? `${literal}%` : literal;
}

/**
 * The audit trail for the auditor: records by time, actor, action and subject, and an export of a
 * time range that `sm2ca audit verify --file` checks offline. The auditor reads and exports;
 * nothing here changes a record, and each export is itself on record.
 */
export function registerAuditRoutes(app: HttpServer, ctx: RaContext): void {
  app.get(
    '/v1/audit/records',
    {
      config: { access: allowedTo('audit.read') },
      schema: {
        tags: ['audit'],
        summary: 'Audit records by time, actor, action (or family) and subject, oldest first, paged by id',
        querystring: RecordQuery,
        response: {
          200: withExample(
            Type.Object({
              items: Type.Array(AuditRecordView),
              nextAfterId: Type.Union([Type.String(), Type.Null()]),
            }),
            { items: [recordExample], nextAfterId: '1187' },
          ),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const from = q.from ? parseDateTime(q.from) : null;
      const to = q.to ? parseDateTime(q.to) : null;
      if (from && to && from > to) throw new AppError('TIME_RANGE_INVALID', 'from is after to', 400);
      const { rows } = await ctx.pool.query(
        `SELECT ${AUDIT_RECORD_COLUMNS}, c.seq
           FROM audit_log a LEFT JOIN audit_chain c ON c.audit_id = a.id
          WHERE ($1::timestamptz IS NULL OR a.at >= $1) AND ($2::timestamptz IS NULL OR a.at <= $2)
            AND ($3::text IS NULL OR a.actor = $3) AND ($4::text IS NULL OR a.action LIKE $4)
            AND ($5::text IS NULL OR a.subject_type = $5) AND ($6::text IS NULL OR a.subject_id = $6)
            AND a.id > $7
          ORDER BY a.id LIMIT $8`,
        [
          from,
          to,
          q.actor ?? null,
          q.action ? actionPattern(q.action) : null,
          q.subjectType ?? null,
          q.subjectId ?? null,
          q.afterId ?? '0',
          q.limit,
        ],
      );
      const items = rows.map((row) => ({
        ...auditRecordFromRow(row),
        seq: row.seq === null ? null : Number(row.seq),
      }));
      return { items, nextAfterId: items.length === q.limit ? items[items.length - 1]!.id : null };
    },
  );

  app.get(
    '/v1/audit/export',
    {
      config: { access: allowedTo('audit.export') },
      schema: {
        tags: ['audit'],
        summary:
          'The chain part covering a time range as JSON lines (certificates, checkpoints, records), for `sm2ca audit verify --file`',
        querystring: Type.Object({ from: Time, to: Time }),
        response: {
          200: {
            description: 'JSON lines: certificate lines, checkpoint lines, then record lines in chain order',
            content: {
              'application/x-ndjson': {
                schema: Type.Unsafe<PassThrough>({ type: 'string' }),
                example: `${JSON.stringify({ type: 'checkpoint', seq: 1180, head: 'ab…', at: recordExample.at })}\n${JSON.stringify({ type: 'record', seq: 1181, auditId: '1187', prevHash: 'ab…', hash: 'cd…', record: recordExample })}\n`,
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const from = parseDateTime(request.query.from);
      const to = parseDateTime(request.query.to);
      if (from > to) throw new AppError('TIME_RANGE_INVALID', 'from is after to', 400);
      await withTransaction(ctx.pool, (client) =>
        recordAudit(client, actorOf(request), {
          action: 'audit.export',
          subjectType: 'audit_log',
          subjectId: `${from.toISOString()}/${to.toISOString()}`,
        }),
      );
      const out = new PassThrough();
      exportAudit(ctx.pool, { from, to }, async (line) => {
        if (!out.write(`${line}\n`)) await new Promise((resolve) => out.once('drain', resolve));
      }).then(
        () => out.end(),
        (err) => {
          request.log.error({ err }, 'audit export failed midway');
          // A cut stream, not a complete-looking file: the verifier then reports it truncated.
          out.destroy(err as Error);
        },
      );
      return reply.type('application/x-ndjson').send(out);
    },
  );
}
