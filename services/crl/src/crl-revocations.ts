import type { Pool, PoolClient } from '@sm2ca/store';
import { SAME_REVOCATION } from './crl-entries.ts';

const NOT_YET_ON_A_CRL = `
  SELECT c.serial, c.status, c.revoked_at FROM certificates c
   WHERE c.issuer_id = $1 AND c.status IN ('revoked', 'hold')
     AND NOT EXISTS (SELECT 1 FROM crl_revocations r WHERE ${SAME_REVOCATION})`;

const NO_LONGER_CURRENT = `
  r.issuer_id = $1 AND r.cleared_crl_number IS NULL
  AND NOT EXISTS (SELECT 1 FROM certificates c WHERE ${SAME_REVOCATION})`;

/**
 * Bookkeeping for CRL `number`, in the transaction (and snapshot) that built it: which
 * revocations it carried for the first time, and which earlier ones it no longer carries.
 */
export async function recordCrlContents(
  client: PoolClient,
  issuerId: string,
  number: bigint,
  publishedAt: Date,
): Promise<void> {
  // Clearing before inserting gives the same rows (a fresh row always matches its certificate)
  // but scans only what earlier CRLs recorded; fresh rows go in key order, so a first CRL of a
  // million entries fills the primary key at its right edge instead of at random pages.
  await client.query(`UPDATE crl_revocations r SET cleared_crl_number = $2 WHERE ${NO_LONGER_CURRENT}`, [
    issuerId,
    String(number),
  ]);
  await client.query(
    `INSERT INTO crl_revocations (issuer_id, serial, status, revoked_at, first_crl_number, first_published_at)
     SELECT $1, serial, status, revoked_at, $2, $3 FROM (${NOT_YET_ON_A_CRL}) fresh
      ORDER BY serial, status, revoked_at`,
    [issuerId, String(number), publishedAt],
  );
}

/** Whether the certificates table holds a status change no CRL of the issuer reflects yet. */
export async function hasUnpublishedChanges(pool: Pool, issuerId: string): Promise<boolean> {
  const { rows } = await pool.query(
    `SELECT EXISTS (${NOT_YET_ON_A_CRL})
         OR EXISTS (SELECT 1 FROM crl_revocations r WHERE ${NO_LONGER_CURRENT}) AS pending`,
    [issuerId],
  );
  return rows[0].pending;
}

/** A certificate released from hold matters only if a CRL still carries its suspension. */
export async function isOnCurrentCrl(pool: Pool, issuerId: string, serial: string): Promise<boolean> {
  const { rows } = await pool.query(
    'SELECT 1 FROM crl_revocations WHERE issuer_id = $1 AND serial = $2 AND cleared_crl_number IS NULL',
    [issuerId, serial],
  );
  return rows.length > 0;
}

export interface RevocationPublication {
  status: 'revoked' | 'hold';
  reason: string | null;
  revokedAt: string;
  /** The first CRL that carried it; absent while it waits for one. */
  firstCrl?: { number: string; kind: 'full' | 'delta'; publishedAt: string; delaySeconds: number };
  /** The first CRL without it again (released from hold). */
  clearedByCrl?: string;
}

/**
 * Every revocation and suspension of one certificate with the first CRL that carried it,
 * oldest first; the current one is last, with no `firstCrl` while no CRL has it yet.
 * Undefined for a certificate that was never revoked or suspended.
 */
export async function revocationPublications(
  pool: Pool,
  issuerId: string,
  serial: string,
): Promise<RevocationPublication[] | undefined> {
  const published = await pool.query(
    `SELECT r.status, r.revoked_at, r.first_crl_number, r.first_published_at, r.cleared_crl_number, k.kind,
            CASE WHEN c.status = r.status AND c.revoked_at = r.revoked_at THEN c.revocation_reason END AS reason
       FROM crl_revocations r
       JOIN crls k ON k.issuer_id = r.issuer_id AND k.crl_number = r.first_crl_number
       JOIN certificates c ON c.issuer_id = r.issuer_id AND c.serial = r.serial
      WHERE r.issuer_id = $1 AND r.serial = $2
      ORDER BY r.revoked_at, r.first_crl_number`,
    [issuerId, serial],
  );
  const list: RevocationPublication[] = published.rows.map((row) => ({
    status: row.status,
    reason: row.status === 'hold' ? 'certificateHold' : row.reason,
    revokedAt: row.revoked_at.toISOString(),
    firstCrl: {
      number: row.first_crl_number,
      kind: row.kind,
      publishedAt: row.first_published_at.toISOString(),
      delaySeconds: (row.first_published_at.getTime() - row.revoked_at.getTime()) / 1000,
    },
    ...(row.cleared_crl_number ? { clearedByCrl: row.cleared_crl_number } : {}),
  }));
  const current = await pool.query(
    `SELECT c.status, c.revoked_at, c.revocation_reason FROM certificates c
      WHERE c.issuer_id = $1 AND c.serial = $2 AND c.status IN ('revoked', 'hold')
        AND NOT EXISTS (SELECT 1 FROM crl_revocations r WHERE ${SAME_REVOCATION})`,
    [issuerId, serial],
  );
  for (const row of current.rows) {
    list.push({ status: row.status, reason: row.revocation_reason, revokedAt: row.revoked_at.toISOString() });
  }
  return list.length > 0 ? list : undefined;
}

export interface PublicationStats {
  /** Revocations and suspensions that reached a CRL, and how long that took (seconds). */
  published: number;
  p50Seconds: number | null;
  p99Seconds: number | null;
  maxSeconds: number | null;
  /** Status changes still waiting for a CRL, and the age of the oldest (seconds). */
  pending: number;
  oldestPendingSeconds: number | null;
}

/** The "revocation → on the published CRL within 24 hours" figure of one issuer, as measured. */
export async function publicationStats(pool: Pool, issuerId: string): Promise<PublicationStats> {
  const { rows } = await pool.query(
    `WITH delays AS (
       SELECT extract(epoch FROM first_published_at - revoked_at)::float8 AS seconds
         FROM crl_revocations WHERE issuer_id = $1
     ), waiting AS (${NOT_YET_ON_A_CRL})
     SELECT (SELECT count(*) FROM delays)::int AS published,
            (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FROM delays) AS p50,
            (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY seconds) FROM delays) AS p99,
            (SELECT max(seconds) FROM delays) AS max,
            (SELECT count(*) FROM waiting)::int AS pending,
            (SELECT extract(epoch FROM clock_timestamp() - min(revoked_at))::float8 FROM waiting) AS oldest`,
    [issuerId],
  );
  const row = rows[0];
  return {
    published: row.published,
    p50Seconds: row.p50,
    p99Seconds: row.p99,
    maxSeconds: row.max,
    pending: row.pending,
    oldestPendingSeconds: row.oldest,
  };
}
