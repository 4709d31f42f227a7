import type { PoolClient } from '@sm2ca/store';

export interface Actor {
  /** Operator name, or the component acting on its own (`cli`, `ca`, `ra`). */
  name: string;
  role: string;
}

export interface AuditEntry {
  action: string;
  subjectType: string;
  subjectId: string;
  before?: unknown;
  after?: unknown;
}

/** Written with the client of the state change's own transaction, so the two commit or fail together. */
export async function recordAudit(client: PoolClient, actor: Actor, entry: AuditEntry): Promise<void> {
  await client.query(
    `INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, before, after)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      actor.name,
      actor.role,
      entry.action,
      entry.subjectType,
      entry.subjectId,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
    ],
  );
}
