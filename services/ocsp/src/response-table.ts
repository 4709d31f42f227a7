import type { OcspHashAlgorithm } from '@sm2ca/pki';
import { type Pool, withTransaction } from '@sm2ca/store';
import { type CertKey, type CertState, stateFromRow, storedStatus } from './certificate-state.ts';

/** Channel the leader notifies on after storing responses; the payload is the highest version written. */
export const responseChannel = 'ocsp_response';

export interface StoredResponse extends CertKey {
  algorithm: OcspHashAlgorithm;
  state: CertState;
  signerId: string;
  der: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
}

/**
 * Writes responses and notifies the replicas in one transaction. A row never goes back to
 * an older certificate state, whoever writes it. Returns the highest version written.
 */
export async function storeResponses(pool: Pool, responses: readonly StoredResponse[]): Promise<number> {
  if (responses.length === 0) return 0;
  const stored = responses.map((r) => storedStatus(r.state));
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query(
      `INSERT INTO ocsp_responses (issuer_id, serial, hash_algorithm, event_id, status, revoked_at,
                                   revocation_reason, signer_id, this_update, next_update, der)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[],
                            $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::bytea[])
       ON CONFLICT (issuer_id, serial, hash_algorithm) DO UPDATE
         SET event_id = EXCLUDED.event_id, status = EXCLUDED.status, revoked_at = EXCLUDED.revoked_at,
             revocation_reason = EXCLUDED.revocation_reason, signer_id = EXCLUDED.signer_id,
             this_update = EXCLUDED.this_update, next_update = EXCLUDED.next_update, der = EXCLUDED.der,
             version = nextval('ocsp_response_version')
         WHERE ocsp_responses.event_id <= EXCLUDED.event_id
       RETURNING version`,
      [
        responses.map((r) => r.issuerId),
        responses.map((r) => r.serial),
        responses.map((r) => r.algorithm),
        responses.map((r) => r.state.version),
        stored.map((s) => s.status),
        stored.map((s) => s.revokedAt),
        stored.map((s) => s.reason),
        responses.map((r) => r.signerId),
        responses.map((r) => r.thisUpdate),
        responses.map((r) => r.nextUpdate),
        responses.map((r) => r.der),
      ],
    );
    const version = rows.reduce((max, row) => Math.max(max, Number(row.version)), 0);
    if (version > 0) await client.query('SELECT pg_notify($1, $2)', [responseChannel, String(version)]);
    return version;
  });
}

function fromRow(row: Record<string, unknown>): StoredResponse {
  return {
    issuerId: row.issuer_id as string,
    serial: row.serial as string,
    algorithm: row.hash_algorithm as OcspHashAlgorithm,
    state: stateFromRow({
      status: row.status as string,
      revoked_at: row.revoked_at as Date | null,
      revocation_reason: row.revocation_reason as string | null,
      version: row.event_id as string,
    }),
    signerId: row.signer_id as string,
    der: row.der as Buffer,
    thisUpdate: row.this_update as Date,
    nextUpdate: row.next_update as Date,
  };
}

/**
 * Unexpired responses written after `afterVersion`, oldest first: paging through them from
 * 0 loads everything, and from the last version held catches up with what was missed.
 */
export async function readResponsesSince(
  pool: Pool,
  afterVersion: number,
  limit: number,
): Promise<{ responses: StoredResponse[]; lastVersion: number }> {
  const { rows } = await pool.query(
    `SELECT * FROM ocsp_responses WHERE version > $1 AND next_update > now() ORDER BY version LIMIT $2`,
    [afterVersion, limit],
  );
  return {
    responses: rows.map(fromRow),
    lastVersion: rows.length > 0 ? Number(rows.at(-1).version) : afterVersion,
  };
}

/**
 * The certificate's current state and, when one was signed for exactly that state, its
 * stored response for `algorithm`: what a responder that holds nothing for it in memory needs.
 */
export async function readForRequest(
  pool: Pool,
  key: CertKey,
  algorithm: OcspHashAlgorithm,
): Promise<{ state: CertState; response?: StoredResponse } | undefined> {
  const { rows } = await pool.query(
    `SELECT c.status, c.revoked_at, c.revocation_reason,
            coalesce((SELECT max(e.id) FROM certificate_events e
                       WHERE e.issuer_id = c.issuer_id AND e.serial = c.serial), 0) AS version,
            r.issuer_id AS r_issuer_id, r.serial AS r_serial, r.hash_algorithm, r.event_id,
            r.status AS r_status, r.revoked_at AS r_revoked_at, r.revocation_reason AS r_revocation_reason,
            r.signer_id, r.der, r.this_update, r.next_update
       FROM certificates c
       LEFT JOIN ocsp_responses r
         ON r.issuer_id = c.issuer_id AND r.serial = c.serial AND r.hash_algorithm = $3
        AND r.next_update > now()
      WHERE c.issuer_id = $1 AND c.serial = $2`,
    [key.issuerId, key.serial, algorithm],
  );
  const row = rows[0];
  if (!row) return undefined;
  const state = stateFromRow(row);
  if (!row.der || Number(row.event_id) !== state.version) return { state };
  const response = fromRow({
    ...row,
    issuer_id: row.r_issuer_id,
    serial: row.r_serial,
    status: row.r_status,
    revoked_at: row.r_revoked_at,
    revocation_reason: row.r_revocation_reason,
  });
  return { state, response };
}

/**
 * Still valid certificates whose stored responses reach nextUpdate before `before`, left
 * out those signed since `signedBefore` (their signer certificate may end sooner).
 */
export async function readDueForRefresh(
  pool: Pool,
  before: Date,
  signedBefore: Date,
  limit: number,
): Promise<CertKey[]> {
  const { rows } = await pool.query(
    `SELECT DISTINCT r.issuer_id, r.serial
       FROM ocsp_responses r
       JOIN certificates c ON c.issuer_id = r.issuer_id AND c.serial = r.serial
      WHERE r.next_update < $1 AND r.this_update < $2 AND c.not_after > now()
      LIMIT $3`,
    [before, signedBefore, limit],
  );
  return rows.map((r) => ({ issuerId: r.issuer_id, serial: r.serial }));
}

/**
 * Issued, unexpired certificates after `after` (key order) lacking a response for one of
 * `algorithms` that states their current status and was signed by one of `signerIds`: what
 * the leader signs when it takes over, and when a signer is revoked.
 */
export async function readMissing(
  pool: Pool,
  algorithms: readonly OcspHashAlgorithm[],
  signerIds: readonly string[],
  after: CertKey,
  limit: number,
): Promise<CertKey[]> {
  const { rows } = await pool.query(
    `SELECT c.issuer_id, c.serial
       FROM certificates c
      WHERE c.status <> 'planned' AND c.not_after > now()
        AND (c.issuer_id, c.serial) > ($2, $3)
        AND EXISTS (
          SELECT 1 FROM unnest($1::text[]) AS a (algorithm)
           WHERE NOT EXISTS (
             SELECT 1 FROM ocsp_responses r
              WHERE r.issuer_id = c.issuer_id AND r.serial = c.serial AND r.hash_algorithm = a.algorithm
                AND r.next_update > now() AND r.signer_id = ANY($5::text[])
                AND r.event_id = coalesce((SELECT max(e.id) FROM certificate_events e
                                            WHERE e.issuer_id = c.issuer_id AND e.serial = c.serial), 0)))
      ORDER BY c.issuer_id, c.serial
      LIMIT $4`,
    [algorithms, after.issuerId, after.serial, limit, signerIds],
  );
  return rows.map((r) => ({ issuerId: r.issuer_id, serial: r.serial }));
}
