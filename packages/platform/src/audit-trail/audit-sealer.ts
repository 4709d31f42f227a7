import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import { AUDIT_RECORD_COLUMNS, auditRecordFromRow, chainHash, GENESIS_HASH } from './audit-record.ts';

/** Held by whoever appends to the chain (the service leader, `sm2ca audit checkpoint`), one at a time. */
export const AUDIT_SEAL_LOCK = 'sm2ca:audit-seal';

export interface ChainHead {
  seq: number;
  hash: string;
}

const DEFAULT_BATCH = 5_000;

/** The last sealed position, or seq 0 with the genesis hash. */
export async function chainHead(
  db: Pool | PoolClient,
): Promise<ChainHead & { xid: string; auditId: string }> {
  const { rows } = await db.query(
    `SELECT seq, encode(hash, 'hex') AS hash, xid::text AS xid, audit_id::text AS audit_id
       FROM audit_chain ORDER BY seq DESC LIMIT 1`,
  );
  const row = rows[0];
  return row
    ? { seq: Number(row.seq), hash: row.hash, xid: row.xid, auditId: row.audit_id }
    : { seq: 0, hash: GENESIS_HASH, xid: '0', auditId: '0' };
}

/**
 * Appends to the chain every audit record whose inserting transaction has ended before every
 * transaction still running (xid below the snapshot's xmin), in (xid, id) order, in batches.
 * Such rows are final — no running transaction can add one that sorts before them — so the
 * chain only ever grows at its end and never needs reordering; a record of a long transaction
 * waits for it. Each batch is one transaction under AUDIT_SEAL_LOCK, taken before the
 * statements that read the head, which therefore see the previous sealer's rows (read committed).
 */
export async function sealAuditRecords(
  pool: Pool,
  options: { batch?: number } = {},
): Promise<{ sealed: number; head: ChainHead }> {
  const batch = options.batch ?? DEFAULT_BATCH;
  let sealed = 0;
  for (;;) {
    const { count, head } = await withTransaction(pool, (client) => sealBatch(client, batch));
    sealed += count;
    if (count < batch) return { sealed, head };
  }
}

async function sealBatch(client: PoolClient, batch: number): Promise<{ count: number; head: ChainHead }> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [AUDIT_SEAL_LOCK]);
  const head = await chainHead(client);
  const { rows } = await client.query(
    `SELECT ${AUDIT_RECORD_COLUMNS}, a.xid::text AS xid
       FROM audit_log a
      WHERE a.xid < pg_snapshot_xmin(pg_current_snapshot())
        AND (a.xid, a.id) > ($1::xid8, $2::bigint)
      ORDER BY a.xid, a.id
      LIMIT $3`,
    [head.xid, head.auditId, batch],
  );
  if (rows.length === 0) return { count: 0, head: { seq: head.seq, hash: head.hash } };
  const seqs: number[] = [];
  const ids: string[] = [];
  const xids: string[] = [];
  const prevs: string[] = [];
  const hashes: string[] = [];
  let prev = head.hash;
  let seq = head.seq;
  for (const row of rows) {
    seq++;
    const hash = chainHash(prev, seq, auditRecordFromRow(row));
    seqs.push(seq);
    ids.push(row.id);
    xids.push(row.xid);
    prevs.push(prev);
    hashes.push(hash);
    prev = hash;
  }
  await client.query(
    `INSERT INTO audit_chain (seq, audit_id, xid, prev_hash, hash)
     SELECT s, i, x::xid8, decode(p, 'hex'), decode(h, 'hex')
       FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) AS t(s, i, x, p, h)`,
    [seqs, ids, xids, prevs, hashes],
  );
  return { count: rows.length, head: { seq, hash: prev } };
}
