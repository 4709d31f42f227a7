import { type ProfileId, pemOrDerToDer } from '@sm2ca/pki';
import { issuingCaId, type RaTestBed } from './ra-test-bed.ts';

/**
 * A certificate recorded as the CA records one, straight into the table: the recovery tests
 * need signature and encryption certificates of one holder, whichever way the CA makes them.
 */
export async function recordCertificate(
  bed: RaTestBed,
  holderKey: string,
  profile: ProfileId,
  status: 'good' | 'revoked' = 'good',
): Promise<{ issuerId: string; serial: string; der: Buffer }> {
  const csr = Buffer.from(pemOrDerToDer(Buffer.from(bed.hierarchy.sm2Csr()), 'CERTIFICATE REQUEST'));
  const { der, serial } = bed.hierarchy.issue(csr, 30);
  await bed.pool.query(
    `INSERT INTO certificates (issuer_id, serial, status, profile, subject, holder_key, tbs, der,
                               not_before, not_after, request_id, issued_at)
     VALUES ($1, $2, $3, $4, 'CN=holder', $5, $6, $6, now() - interval '1 minute',
             now() + interval '30 days', gen_random_uuid()::text, clock_timestamp())`,
    [issuingCaId, serial, status, profile, holderKey, der],
  );
  return { issuerId: issuingCaId, serial, der };
}
