import type { PoolClient } from '@sm2ca/store';

/**
 * Share-locks a certificate row for the caller's transaction, so the status read after it holds
 * until commit. Through the SECURITY DEFINER function of migration 0022: FOR SHARE would need an
 * UPDATE grant on certificates, which the RA does not hold (only the CA changes a status).
 */
export async function lockCertificate(client: PoolClient, issuerId: string, serial: string): Promise<void> {
  await client.query('SELECT lock_certificate_for_share($1, $2)', [issuerId, serial]);
}
