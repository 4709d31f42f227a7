import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Type } from '@sinclair/typebox';
import { AppError, allowedTo, exportAudit, type HttpServer, recordAudit, withExample } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import { readAuditSettings } from './audit-settings.ts';
import { Month } from './evidence-months.ts';
import { actorOf, iso, Nullable } from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';

/** Months are those of China Standard Time, like the compliance figures'. */
const CST_OFFSET_MS = 8 * 3600_000;

/** The first instant of a month ('YYYY-MM') and of the month after it. */
export function monthSpan(month: string): { from: Date; before: Date } {
  const [year, m] = month.split('-').map(Number) as [number, number];
  return {
    from: new Date(Date.UTC(year, m - 1, 1) - CST_OFFSET_MS),
    before: new Date(Date.UTC(year, m, 1) - CST_OFFSET_MS),
  };
}

/** Where a month's archive lives, relative to SM2CA_HOME. */
export const archiveFile = (month: string) => join('audit', 'archive', `${month}.jsonl`);

const ArchiveView = Type.Object({
  month: Type.String(),
  file: Type.String({ description: 'relative to SM2CA_HOME' }),
  digest: Type.String({ description: 'SM3 of the file, hex' }),
  records: Type.Integer(),
  checkpoints: Type.Integer(),
  firstSeq: Nullable(Type.Integer()),
  lastSeq: Nullable(Type.Integer()),
  keepUntil: Type.String({ description: 'the end of the month plus the retention in force when archived' }),
  madeAt: Type.String(),
  madeBy: Type.String(),
});

const example = {
  month: '2026-11',
  file: 'audit/archive/2026-11.jsonl',
  digest: '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
  records: 18234,
  checkpoints: 4320,
  firstSeq: 1181,
  lastSeq: 19414,
  keepUntil: '2036-11-30T16:00:00.000Z',
  madeAt: '2026-12-02T01:00:00.000Z',
  madeBy: 'Li Shen',
};

function archiveView(row: Record<string, unknown>) {
  return {
    month: row.month as string,
    file: row.file as string,
    digest: (row.digest as Buffer).toString('hex'),
    records: row.records as number,
    checkpoints: row.checkpoints as number,
    firstSeq: row.first_seq === null ? null : Number(row.first_seq),
    lastSeq: row.last_seq === null ? null : Number(row.last_seq),
    keepUntil: iso(row.keep_until) ?? '',
    madeAt: iso(row.made_at) ?? '',
    madeBy: row.made_by as string,
  };
}

/** Writes a month's export to `path` (through a temporary file) and returns its SM3 digest. */
async function writeArchive(pool: Pool, span: { from: Date; before: Date }, path: string) {
  const partial = `${path}.partial`;
  const out = createWriteStream(partial, { flags: 'w', mode: 0o640 });
  const hash = createHash('sm3');
  try {
    const summary = await exportAudit(pool, span, async (line) => {
      const bytes = `${line}\n`;
      hash.update(bytes);
      if (!out.write(bytes)) await once(out, 'drain');
    });
    out.end();
    await once(out, 'finish');
    await rename(partial, path);
    return { ...summary, digest: hash.digest() };
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}

async function fileDigest(path: string): Promise<Buffer> {
  const hash = createHash('sm3');
  await pipeline(createReadStream(path), hash);
  return hash.digest();
}

/**
 * Archives of closed months: the audit admin has a closed month's part of the chain written to
 * $SM2CA_HOME/audit/archive/<month>.jsonl (an export, which `sm2ca audit verify --file` checks)
 * and its SM3 digest put on record; the register lists them, and the auditor fetches a file while
 * it still matches its digest. The admin sees the register line, not the records. Nothing leaves
 * the database: audit rows are insert-only.
 */
export function registerAuditArchiveRoutes(
  app: HttpServer,
  ctx: { pool: Pool; home: string; checkpointMinutes: number; now?: () => Date },
): void {
  const now = ctx.now ?? (() => new Date());
  const onError = auditRefusals(ctx.pool, 'audit_archive', (request) => {
    const month =
      (request.params as { month?: unknown } | undefined)?.month ??
      (request.body as { month?: unknown } | undefined)?.month;
    return typeof month === 'string' ? month.slice(0, 20) : undefined;
  });
  app.get(
    '/v1/audit/archives',
    {
      config: { access: allowedTo('audit.read_archives') },
      onError,
      schema: {
        tags: ['audit'],
        summary: 'The archives of closed months, oldest first',
        response: { 200: withExample(Type.Object({ items: Type.Array(ArchiveView) }), { items: [example] }) },
      },
    },
    async () => {
      const { rows } = await ctx.pool.query('SELECT * FROM audit_archives ORDER BY month');
      return { items: rows.map(archiveView) };
    },
  );

  app.get(
    '/v1/audit/archives/:month',
    {
      config: { access: allowedTo('audit.export') },
      onError,
      schema: {
        tags: ['audit'],
        summary:
          "A month's archive file (an export, JSON lines) for the auditor, once its SM3 digest still matches the register",
        params: Type.Object({ month: Month }),
        response: {
          200: {
            description: 'the archive as written: certificate, checkpoint and record lines',
            content: {
              'application/x-ndjson': {
                schema: Type.Unsafe<NodeJS.ReadableStream>({ type: 'string' }),
                example: `${JSON.stringify({ type: 'record', seq: 1181, auditId: '1187', prevHash: 'ab…', hash: 'cd…' })}\n`,
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { month } = request.params;
      const { rows } = await ctx.pool.query('SELECT * FROM audit_archives WHERE month = $1', [month]);
      if (rows.length === 0)
        throw new AppError('AUDIT_ARCHIVE_NOT_FOUND', `${month} has no archive`, 404, { month });
      const archive = archiveView(rows[0]);
      const path = join(ctx.home, archive.file);
      const digest = await fileDigest(path).catch(() => undefined);
      if (digest?.toString('hex') !== archive.digest) {
        throw new AppError(
          'AUDIT_ARCHIVE_ALTERED',
          `the archive of ${month} is missing or no longer matches its registered SM3 digest; the records are still in the database`,
          409,
          { month, file: archive.file },
        );
      }
      await withTransaction(ctx.pool, (client) =>
        recordAudit(client, actorOf(request), {
          action: 'audit.export',
          subjectType: 'audit_archive',
          subjectId: month,
        }),
      );
      return reply.type('application/x-ndjson').send(createReadStream(path));
    },
  );

  app.post(
    '/v1/audit/archives',
    {
      config: { access: allowedTo('audit.archive') },
      onError,
      schema: {
        tags: ['audit'],
        summary:
          "Archives a closed month (China Standard Time): its export to a file with its SM3 digest, once; the month's records stay",
        body: withExample(Type.Object({ month: Month }, { additionalProperties: false }), {
          month: '2026-11',
        }),
        response: { 201: withExample(ArchiveView, example) },
      },
    },
    async (request, reply) => {
      const { month } = request.body;
      const actor = actorOf(request);
      const span = monthSpan(month);
      const settings = await readAuditSettings(ctx.pool, ctx.checkpointMinutes);
      const closes = new Date(span.before.getTime() + settings.archiveAfterDays * 86_400_000);
      if (closes > now()) {
        throw new AppError(
          'AUDIT_MONTH_OPEN',
          `${month} is not closed: it may be archived from ${closes.toISOString()} (${settings.archiveAfterDays} days after it ends)`,
          409,
          { month, closes: closes.toISOString() },
        );
      }
      const view = await withTransaction(ctx.pool, async (client) => {
        // One archiver per month; the loser finds the row below and is refused.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sm2ca:audit-archive:${month}`]);
        const { rows: made } = await client.query('SELECT 1 FROM audit_archives WHERE month = $1', [month]);
        if (made.length > 0)
          throw new AppError('AUDIT_MONTH_ARCHIVED', `${month} is archived already`, 409, { month });
        const { rows: unsealed } = await client.query(
          `SELECT count(*)::int AS n FROM audit_log a
            WHERE a.at >= $1 AND a.at < $2 AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id)`,
          [span.from, span.before],
        );
        if (unsealed[0].n > 0) {
          throw new AppError(
            'AUDIT_MONTH_UNSEALED',
            `${unsealed[0].n} records of ${month} are not in the chain yet; try again once the sealer has run`,
            409,
            { month, unsealed: unsealed[0].n },
          );
        }
        const file = archiveFile(month);
        const path = join(ctx.home, file);
        await mkdir(join(ctx.home, 'audit', 'archive'), { recursive: true, mode: 0o750 });
        const written = await writeArchive(ctx.pool, span, path);
        try {
          const { rows } = await client.query(
            `INSERT INTO audit_archives
               (month, file, digest, records, checkpoints, first_seq, last_seq, keep_until, made_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz + make_interval(years => $9), $10)
             RETURNING *`,
            [
              month,
              file,
              written.digest,
              written.records,
              written.checkpoints,
              written.first,
              written.last,
              span.before,
              settings.retentionYears,
              actor.name,
            ],
          );
          const archived = archiveView(rows[0]);
          await recordAudit(client, actor, {
            action: 'audit_archive.create',
            subjectType: 'audit_archive',
            subjectId: month,
            after: archived,
          });
          return archived;
        } catch (err) {
          await rm(path, { force: true });
          throw err;
        }
      });
      return reply.code(201).send(view);
    },
  );
}
