import { CrlReason, type OcspCertStatus } from '@sm2ca/pki';
import type { Pool } from '@sm2ca/store';

/** What a response says about one certificate, and which status change it reflects. */
export interface CertState {
  /**
   * Id of the certificate's latest status event, 0 when it has none. Per certificate these
   * grow in commit order (each change locks the certificate row before writing its event),
   * so a higher version is always the newer state.
   */
  version: number;
  status: OcspCertStatus;
}

/** The certificate a CertID names, as the database keys it. */
export interface CertKey {
  issuerId: string;
  /** Hex of the serial's DER INTEGER content octets, as the CA stores it. */
  serial: string;
}

export const UNKNOWN: CertState = { version: 0, status: { status: 'unknown' } };

export function certKeyString(issuerId: string, serial: string): string {
  return `${issuerId}/${serial}`;
}

/** The CA stores serials as the hex of their INTEGER content: even length, a 00 octet before a high bit. */
export function serialHex(serial: bigint): string {
  let hex = serial.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Number.parseInt(hex[0]!, 16) >= 8 ? `00${hex}` : hex;
}

export type StoredStatus = 'good' | 'revoked' | 'hold';

/** Suspension is "revoked" with reason certificateHold in OCSP (RFC 6960 2.2). */
export function stateFromRow(row: {
  status: string;
  revoked_at: Date | null;
  revocation_reason: string | null;
  version: string | number;
}): CertState {
  const version = Number(row.version);
  switch (row.status) {
    case 'good':
      return { version, status: { status: 'good' } };
    case 'hold':
      return {
        version,
        status: { status: 'revoked', revocationTime: row.revoked_at!, reason: CrlReason.certificateHold },
      };
    case 'revoked': {
      const reason = CrlReason[row.revocation_reason as keyof typeof CrlReason];
      return {
        version,
        status: {
          status: 'revoked',
          revocationTime: row.revoked_at!,
          ...(reason === undefined ? {} : { reason }),
        },
      };
    }
    default:
      // 'planned': the CA has not signed it yet, so it does not exist for relying parties.
      return UNKNOWN;
  }
}

/** The columns a response row stores to say which state it was signed for. */
export function storedStatus(state: CertState): {
  status: StoredStatus;
  revokedAt: Date | null;
  reason: string | null;
} {
  const { status } = state;
  if (status.status === 'good') return { status: 'good', revokedAt: null, reason: null };
  if (status.status !== 'revoked') throw new Error('unknown certificates have no stored response');
  const reason =
    status.reason === undefined
      ? null
      : (Object.keys(CrlReason) as (keyof typeof CrlReason)[]).find(
          (name) => CrlReason[name] === status.reason,
        )!;
  return {
    status: status.reason === CrlReason.certificateHold ? 'hold' : 'revoked',
    revokedAt: status.revocationTime,
    reason,
  };
}

const STATE_COLUMNS = `c.issuer_id, c.serial, c.status, c.revoked_at, c.revocation_reason,
  coalesce((SELECT max(e.id) FROM certificate_events e
             WHERE e.issuer_id = c.issuer_id AND e.serial = c.serial), 0) AS version`;

export interface KeyedState extends CertKey {
  state: CertState;
}

function keyed(row: Record<string, unknown>): KeyedState {
  return {
    issuerId: row.issuer_id as string,
    serial: row.serial as string,
    state: stateFromRow(row as Parameters<typeof stateFromRow>[0]),
  };
}

/** Current states of the given certificates; those the database does not hold are left out. */
export async function readStates(pool: Pool, keys: readonly CertKey[]): Promise<KeyedState[]> {
  if (keys.length === 0) return [];
  const { rows } = await pool.query(
    `SELECT ${STATE_COLUMNS}
       FROM certificates c
       JOIN unnest($1::text[], $2::text[]) AS k (issuer_id, serial)
         ON c.issuer_id = k.issuer_id AND c.serial = k.serial`,
    [keys.map((k) => k.issuerId), keys.map((k) => k.serial)],
  );
  return rows.map(keyed);
}

/**
 * States of the certificates whose status changed after event `afterId`, or in the last
 * minute: ids are taken before commit, so a transaction that commits late can carry a
 * lower id than one already seen.
 */
export async function readChangedStates(
  pool: Pool,
  afterId: number,
): Promise<{ states: KeyedState[]; lastId: number }> {
  const { rows } = await pool.query(
    `WITH changed AS (
       SELECT issuer_id, serial, max(id) AS last_id FROM certificate_events
        WHERE id > $1 OR at > now() - interval '1 minute'
        GROUP BY issuer_id, serial)
     SELECT ${STATE_COLUMNS}, ch.last_id
       FROM changed ch JOIN certificates c ON c.issuer_id = ch.issuer_id AND c.serial = ch.serial`,
    [afterId],
  );
  const lastId = rows.reduce((max, row) => Math.max(max, Number(row.last_id)), afterId);
  return { states: rows.map(keyed), lastId };
}

export async function lastEventId(pool: Pool): Promise<number> {
  const { rows } = await pool.query('SELECT coalesce(max(id), 0) AS id FROM certificate_events');
  return Number(rows[0].id);
}
