import { type CrlEntry, CrlReason } from '@sm2ca/pki';
import type { PoolClient } from '@sm2ca/store';

interface EntryRow {
  serial: string;
  /** `removed`: on the base CRL, released from hold since (delta CRLs only). */
  status: 'revoked' | 'hold' | 'removed';
  revoked_at: Date;
  revocation_reason: string | null;
  invalidity_date: Date | null;
}

/** A certificate row and the crl_revocations row of the same revocation or suspension. */
export const SAME_REVOCATION =
  'r.issuer_id = c.issuer_id AND r.serial = c.serial AND r.status = c.status AND r.revoked_at = c.revoked_at';

// Expired certificates stay listed for good: RFC 5280 would let them drop off after notAfter,
// but keeping them is always correct and needs no record of which CRL carried them last.
const FULL_SQL = `
  SELECT serial, status, revoked_at, revocation_reason, invalidity_date
    FROM certificates
   WHERE issuer_id = $1 AND status IN ('revoked', 'hold')`;

// What changed since the base ($2): revocations and suspensions no CRL up to the base
// carried, and base entries whose certificate has been released from hold since. A
// crl_revocations row was on CRL n exactly when first <= n < cleared, because the
// publisher records every CRL's snapshot in the same transaction that numbers it.
const DELTA_SQL = `
  SELECT c.serial, c.status, c.revoked_at, c.revocation_reason, c.invalidity_date
    FROM certificates c
    LEFT JOIN crl_revocations r ON ${SAME_REVOCATION}
   WHERE c.issuer_id = $1 AND c.status IN ('revoked', 'hold')
     AND (r.first_crl_number IS NULL OR r.first_crl_number > $2)
  UNION ALL
  SELECT r.serial, 'removed', r.revoked_at, NULL, NULL
    FROM crl_revocations r
    JOIN certificates c ON c.issuer_id = r.issuer_id AND c.serial = r.serial
   WHERE r.issuer_id = $1 AND r.first_crl_number <= $2
     AND (r.cleared_crl_number IS NULL OR r.cleared_crl_number > $2)
     AND c.status NOT IN ('revoked', 'hold')`;

const BATCH = 5_000;

/**
 * The entries of a full CRL, or of a delta CRL against `baseNumber`, read through a cursor
 * in the caller's transaction so a million revoked certificates never sit in memory at once.
 */
export async function* crlEntries(
  client: PoolClient,
  issuerId: string,
  baseNumber?: bigint,
): AsyncGenerator<CrlEntry> {
  const [sql, params] =
    baseNumber === undefined ? [FULL_SQL, [issuerId]] : [DELTA_SQL, [issuerId, String(baseNumber)]];
  await client.query(`DECLARE crl_entries NO SCROLL CURSOR FOR ${sql}`, params);
  for (;;) {
    const { rows } = await client.query<EntryRow>(`FETCH ${BATCH} FROM crl_entries`);
    if (rows.length === 0) break;
    for (const row of rows) yield toCrlEntry(row);
  }
  await client.query('CLOSE crl_entries');
}

function toCrlEntry(row: EntryRow): CrlEntry {
  const entry: CrlEntry = {
    serial: Buffer.from(row.serial.length % 2 ? `0${row.serial}` : row.serial, 'hex'),
    revocationDate: row.revoked_at,
    reason:
      row.status === 'removed'
        ? CrlReason.removeFromCRL
        : row.status === 'hold'
          ? CrlReason.certificateHold
          : revocationReason(row.revocation_reason),
  };
  if (row.invalidity_date && row.status !== 'removed') entry.invalidityDate = row.invalidity_date;
  return entry;
}

/** The CA stores RFC 5280 reason names; the two that only mean something on holds never apply to a revocation. */
function revocationReason(name: string | null): CrlReason {
  if (name === null || !Object.hasOwn(CrlReason, name)) return CrlReason.unspecified;
  const reason = CrlReason[name as keyof typeof CrlReason];
  return reason === CrlReason.certificateHold || reason === CrlReason.removeFromCRL
    ? CrlReason.unspecified
    : reason;
}
