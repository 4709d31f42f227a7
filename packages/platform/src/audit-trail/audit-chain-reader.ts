import type { Pool, PoolClient } from '@sm2ca/store';
import { AUDIT_RECORD_COLUMNS, type ChainLink } from './audit-record.ts';
import type { AuditTrust } from './audit-verifier.ts';

const PAGE = 20_000;

/**
 * The chain from seq `from` to `to` (inclusive) in seq order, each position with the audit_log
 * row it names (none when that row is gone), read page by page; the next page is asked for
 * before this one is handed out, so the database works while the caller hashes.
 */
export async function* readChain(
  db: Pool | PoolClient,
  range: { from?: number; to?: number } = {},
): AsyncGenerator<ChainLink> {
  const { rows: last } = await db.query('SELECT max(seq) AS seq FROM audit_chain');
  const to = Math.min(range.to ?? Number.MAX_SAFE_INTEGER, Number(last[0].seq ?? 0));
  // Pages by seq range rather than LIMIT: an index range scan, already in order, whatever the statistics say.
  const page = (cursor: number) =>
    db.query({
      rowMode: 'array',
      text: `SELECT c.seq, c.audit_id::text, encode(c.prev_hash, 'hex'), encode(c.hash, 'hex'),
                    a.id IS NOT NULL, ${AUDIT_RECORD_COLUMNS}
               FROM audit_chain c
               -- A lookup per position (LIMIT keeps the planner from flattening it into a join that hashes
               -- all of audit_log for every page).
               LEFT JOIN LATERAL (SELECT * FROM audit_log l WHERE l.id = c.audit_id LIMIT 1) a ON true
              WHERE c.seq > $1 AND c.seq <= $2
              ORDER BY c.seq`,
      values: [cursor, Math.min(cursor + PAGE, to)],
    });
  let cursor = (range.from ?? 1) - 1;
  if (cursor >= to) return;
  let next = page(cursor);
  while (cursor < to) {
    const { rows } = await next;
    cursor += PAGE;
    if (cursor < to) {
      next = page(cursor);
      // Awaited on the next turn; a caller that stops early must not leave it unhandled.
      next.catch(() => {});
    }
    for (const [
      seq,
      auditId,
      prevHash,
      hash,
      present,
      id,
      at,
      actor,
      actorRole,
      action,
      subjectType,
      subjectId,
      before,
      after,
    ] of rows) {
      yield {
        seq: Number(seq),
        auditId,
        prevHash,
        hash,
        ...(present
          ? { record: { id, at, actor, actorRole, action, subjectType, subjectId, before, after } }
          : {}),
      };
    }
  }
}

/**
 * audit_log rows outside the chain: `behind` sort before its last sealed row, where the sealer
 * will never reach them (written in afterwards with a forged xid: inserted); `pending` are
 * waiting for their turn.
 */
export async function unchainedRecords(
  db: Pool | PoolClient,
): Promise<{ behind: string[]; pending: number }> {
  const { rows } = await db.query(
    `WITH head AS (SELECT xid, audit_id FROM audit_chain ORDER BY seq DESC LIMIT 1)
     SELECT a.id::text AS id, ((a.xid, a.id) > (SELECT xid, audit_id FROM head)) IS NOT FALSE AS pending
       FROM audit_log a
      WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id)
      ORDER BY a.id`,
  );
  return {
    behind: rows.filter((r) => !r.pending).map((r) => r.id),
    pending: rows.filter((r) => r.pending).length,
  };
}

/** The audit certificates and the CA certificates they chain to, as the ceremony recorded them. */
export async function auditTrust(db: Pool | PoolClient): Promise<AuditTrust> {
  const { rows } = await db.query(
    "SELECT id, kind, certificate FROM issuers WHERE kind IN ('audit', 'root', 'subordinate') ORDER BY created_at",
  );
  const of = (kind: string) =>
    rows.filter((r) => r.kind === kind).map((r) => new Uint8Array(r.certificate as Buffer));
  return {
    auditCertificates: new Map(
      rows.filter((r) => r.kind === 'audit').map((r) => [r.id, new Uint8Array(r.certificate)]),
    ),
    trustAnchors: of('root'),
    intermediates: of('subordinate'),
  };
}
