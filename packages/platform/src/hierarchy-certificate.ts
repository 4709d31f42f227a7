import type { PoolClient } from '@sm2ca/store';
import { AppError } from './app-error.ts';

/**
 * SQL for what a `certificates` row `c` is within the CA's own hierarchy — 'root',
 * 'subordinate', 'ra', 'ocsp', 'km' or 'ca-km' — or NULL for an end-entity certificate. The issuers
 * table holds every certificate the key ceremony made (the RA's shares its profile with
 * holders' device certificates, so only this match tells it apart); the CA profiles
 * catch a CA certificate whatever made it.
 */
export const hierarchyKindSql = `coalesce(
  (SELECT i.kind FROM issuers i WHERE i.certificate = c.der LIMIT 1),
  CASE c.profile WHEN 'root-ca' THEN 'root' WHEN 'sub-ca' THEN 'subordinate' WHEN 'ocsp-signer' THEN 'ocsp' END)`;

/**
 * Refuses a certificate of the hierarchy (root, issuing CA, RA, OCSP signer, KM): the RA's
 * workflow acts on end entities only, the hierarchy's own certificates are the
 * administrators' (m-of-n) business.
 */
export async function requireEndEntity(
  client: Pick<PoolClient, 'query'>,
  issuerId: string,
  serial: string,
): Promise<void> {
  const { rows } = await client.query(
    `SELECT ${hierarchyKindSql} AS kind FROM certificates c WHERE c.issuer_id = $1 AND c.serial = $2`,
    [issuerId, serial],
  );
  const kind = rows[0]?.kind as string | null | undefined;
  if (kind) {
    throw new AppError(
      'NOT_END_ENTITY',
      `certificate ${serial} of issuer ${issuerId} belongs to the CA hierarchy (${kind}); only administrators revoke it`,
      422,
      { kind },
    );
  }
}
