import { Type } from '@sinclair/typebox';
import { AppError, allowedTo, type HttpServer, recordAudit, withExample } from '@sm2ca/platform';
import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import { actorOf, iso, Nullable } from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';

/**
 * The floor on retention: holder records are kept 10 years after expiry for government holders
 * (2009 e-government CA measures, art. 24; the newer measures ask 5), CRL backups at least 10
 * years (service quality requirements); audit records are what proves both.
 */
export const MIN_RETENTION_YEARS = 10;

export interface AuditSettings {
  retentionYears: number;
  /** How often the chain head is signed; until set, SM2CA_AUDIT_CHECKPOINT_MINUTES. */
  checkpointMinutes: number;
  /** Days after a month ends (China Standard Time) before it counts as closed and may be archived. */
  archiveAfterDays: number;
}

const SettingsFields = {
  retentionYears: Type.Integer({
    minimum: 1,
    maximum: 100,
    description: `years audit records and their archives are kept; at least ${MIN_RETENTION_YEARS}`,
  }),
  checkpointMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
  archiveAfterDays: Type.Integer({
    minimum: 0,
    maximum: 28,
    description: 'days after a month ends before it counts as closed and may be archived',
  }),
};

const SettingsView = Type.Object({
  ...SettingsFields,
  changedAt: Nullable(Type.String({ description: 'null while the defaults apply' })),
  changedBy: Nullable(Type.String()),
});

const example = {
  retentionYears: 10,
  checkpointMinutes: 10,
  archiveAfterDays: 1,
  changedAt: '2026-12-03T01:02:03.000Z',
  changedBy: 'Li Shen',
};

/** The settings in force: the table's row, or the defaults with the configured checkpoint interval. */
export async function readAuditSettings(
  db: Pool | PoolClient,
  checkpointMinutes: number,
): Promise<AuditSettings & { changedAt: string | null; changedBy: string | null }> {
  const { rows } = await db.query(
    `SELECT retention_years, checkpoint_minutes, archive_after_days, changed_at, changed_by
       FROM audit_settings`,
  );
  const row = rows[0];
  if (!row) {
    return {
      retentionYears: MIN_RETENTION_YEARS,
      checkpointMinutes,
      archiveAfterDays: 1,
      changedAt: null,
      changedBy: null,
    };
  }
  return {
    retentionYears: row.retention_years,
    checkpointMinutes: row.checkpoint_minutes,
    archiveAfterDays: row.archive_after_days,
    changedAt: iso(row.changed_at),
    changedBy: row.changed_by,
  };
}

/**
 * The audit admin's settings. The admin changes them and reads them back; the auditor reads
 * them and changes nothing (refused, and the refusal is on record). Each change is audited with
 * the settings before and after.
 */
export function registerAuditSettingsRoutes(
  app: HttpServer,
  ctx: { pool: Pool; checkpointMinutes: number },
): void {
  const onError = auditRefusals(ctx.pool, 'audit_settings');
  app.get(
    '/v1/audit/settings',
    {
      config: { access: allowedTo('audit.read_settings') },
      onError,
      schema: {
        tags: ['audit'],
        summary: 'The audit settings in force: retention, checkpoint interval, when a month may be archived',
        response: { 200: withExample(SettingsView, example) },
      },
    },
    () => readAuditSettings(ctx.pool, ctx.checkpointMinutes),
  );

  app.put(
    '/v1/audit/settings',
    {
      config: { access: allowedTo('audit.manage_settings') },
      onError,
      schema: {
        tags: ['audit'],
        summary: 'Replaces the audit settings (audit admin); audited with before and after',
        body: withExample(Type.Object(SettingsFields, { additionalProperties: false }), {
          retentionYears: 10,
          checkpointMinutes: 10,
          archiveAfterDays: 1,
        }),
        response: { 200: withExample(SettingsView, example) },
      },
    },
    async (request) => {
      const next = request.body;
      if (next.retentionYears < MIN_RETENTION_YEARS) {
        throw new AppError(
          'AUDIT_RETENTION_TOO_SHORT',
          `audit records are kept at least ${MIN_RETENTION_YEARS} years (holder records 10 years after expiry for government holders)`,
          400,
          { minimum: MIN_RETENTION_YEARS },
        );
      }
      const actor = actorOf(request);
      return withTransaction(ctx.pool, async (client) => {
        // Two changes at once would each audit a stale "before".
        await client.query('LOCK TABLE audit_settings IN SHARE ROW EXCLUSIVE MODE');
        const current = await readAuditSettings(client, ctx.checkpointMinutes);
        const before: AuditSettings = {
          retentionYears: current.retentionYears,
          checkpointMinutes: current.checkpointMinutes,
          archiveAfterDays: current.archiveAfterDays,
        };
        await client.query(
          `INSERT INTO audit_settings (retention_years, checkpoint_minutes, archive_after_days, changed_by)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (singleton) DO UPDATE
              SET retention_years = excluded.retention_years, checkpoint_minutes = excluded.checkpoint_minutes,
                  archive_after_days = excluded.archive_after_days, changed_at = now(),
                  changed_by = excluded.changed_by`,
          [next.retentionYears, next.checkpointMinutes, next.archiveAfterDays, actor.name],
        );
        await recordAudit(client, actor, {
          action: 'audit_settings.change',
          subjectType: 'audit_settings',
          subjectId: 'audit',
          before,
          after: next,
        });
        return readAuditSettings(client, ctx.checkpointMinutes);
      });
    },
  );
}
