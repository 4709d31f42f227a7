import type { Static } from '@sinclair/typebox';
import { AppError } from '@sm2ca/platform';
import type { PoolClient } from '@sm2ca/store';
import type { CertificateRef } from './recovery-certificates.ts';
import type { ReleasedKey } from './recovery-schemas.ts';

/** A released recovery as its recipient receives it, with the encryption certificate it belongs to. */
export async function releasedKeyOf(
  db: Pick<PoolClient, 'query'>,
  recovery: {
    id: string;
    publicKey: Buffer;
    envelopedKey: Buffer;
    recipient: CertificateRef;
  } & CertificateRef,
): Promise<Static<typeof ReleasedKey>> {
  const { rows } = await db.query('SELECT der FROM certificates WHERE issuer_id = $1 AND serial = $2', [
    recovery.issuerId,
    recovery.serial,
  ]);
  if (!rows[0]?.der) {
    throw new AppError('CERTIFICATE_NOT_AVAILABLE', `certificate ${recovery.serial} is not recorded`, 409);
  }
  return {
    recoveryId: recovery.id,
    issuerId: recovery.issuerId,
    serial: recovery.serial,
    encryptionCertificate: (rows[0].der as Buffer).toString('base64'),
    publicKey: recovery.publicKey.toString('base64'),
    envelopedKey: recovery.envelopedKey.toString('base64'),
    recipient: recovery.recipient,
  };
}
