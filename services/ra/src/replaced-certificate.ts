import { parseCertificate, publicKeyOfSpki } from '@sm2ca/pki';
import { AppError, requireEndEntity } from '@sm2ca/platform';
import type { PoolClient } from '@sm2ca/store';
import { lockCertificate } from './certificate-lock.ts';
import type { Holder, HolderType } from './holder-identity.ts';

export type ReplacementKind = 'renewal' | 'rekey';

/** The certificate a renewal or re-key replaces, with the application that issued it. */
export interface ReplacedCertificate {
  issuerId: string;
  serial: string;
  /** 04‖X‖Y of the certified key. */
  publicKey: Buffer;
  spki: Uint8Array;
  /** The issued application the certificate came from: the holder record a replacement starts from. */
  application: {
    id: string;
    holderType: HolderType;
    holder: Holder;
    holderKey: string;
    profile: string;
    /** The template it was issued under, which a replacement follows at its newest approved version. */
    template: string;
    dual: boolean;
    publishConsent: boolean;
    /** For an operator's own certificate: the operator it is for. */
    operatorId: string | null;
  };
}

const codePrefix: Record<ReplacementKind, string> = { renewal: 'RENEWAL', rekey: 'REKEY' };

/**
 * The certificate, refused (a stable code per operation) unless it can still be replaced:
 * issued by the RA to a holder as a signature certificate, not revoked, not expired; a renewal
 * also not on hold (a frozen certificate is unfrozen or revoked first), while a re-key takes a
 * frozen one, as its revocation is the point. Read under a share lock, so the state holds for
 * the caller's transaction.
 */
export async function replaceableCertificate(
  client: PoolClient,
  kind: ReplacementKind,
  issuerId: string,
  serial: string,
): Promise<ReplacedCertificate> {
  await lockCertificate(client, issuerId, serial);
  const { rows } = await client.query(
    `SELECT c.status, c.not_after, c.der, c.not_after <= now() AS expired,
            (a.encryption_serial = c.serial) AS encryption, a.id AS application_id, a.serial AS signature_serial,
            a.holder_type, a.holder, a.holder_key, a.profile AS application_profile,
            a.template AS application_template, a.dual, a.publish_consent,
            a.operator_id
       FROM certificates c
       LEFT JOIN applications a
         ON a.issuer_id = c.issuer_id AND (a.serial = c.serial OR a.encryption_serial = c.serial)
            AND a.status = 'issued'
      WHERE c.issuer_id = $1 AND c.serial = $2`,
    [issuerId, serial],
  );
  const row = rows[0];
  if (!row || row.status === 'planned') {
    throw new AppError('CERTIFICATE_NOT_FOUND', `issuer ${issuerId} has no certificate ${serial}`, 404);
  }
  await requireEndEntity(client, issuerId, serial);
  const prefix = codePrefix[kind];
  const details = { issuerId, serial, status: row.status };
  if (row.application_id == null) {
    throw new AppError(
      'CERTIFICATE_NOT_FROM_AN_APPLICATION',
      `certificate ${serial} was not issued for an RA application, so there is no holder record to ${kind === 'rekey' ? 're-key' : 'renew'} from`,
      422,
      details,
    );
  }
  if (row.encryption) {
    throw new AppError(
      `${prefix}_OF_ENCRYPTION_CERTIFICATE`,
      `certificate ${serial} is an encryption certificate; ${kind === 'rekey' ? 're-key' : 'renew'} its signature certificate ${row.signature_serial}, and the encryption certificate follows`,
      422,
      { ...details, signatureSerial: row.signature_serial },
    );
  }
  if (row.status === 'revoked') {
    throw new AppError(
      `${prefix}_CERTIFICATE_REVOKED`,
      `certificate ${serial} is revoked; the holder applies for a new certificate`,
      409,
      details,
    );
  }
  if (row.expired) {
    throw new AppError(
      `${prefix}_CERTIFICATE_EXPIRED`,
      `certificate ${serial} expired at ${(row.not_after as Date).toISOString()}; the holder applies for a new certificate`,
      409,
      details,
    );
  }
  if (kind === 'renewal' && row.status === 'hold') {
    throw new AppError(
      'RENEWAL_CERTIFICATE_ON_HOLD',
      `certificate ${serial} is frozen; unfreeze it before renewing it, or re-key it if its key is compromised`,
      409,
      details,
    );
  }
  const parsed = parseCertificate(new Uint8Array(row.der));
  return {
    issuerId,
    serial,
    spki: parsed.spki,
    publicKey: publicKeyOfSpki(parsed.spki),
    application: {
      id: String(row.application_id),
      holderType: row.holder_type,
      holder: row.holder,
      holderKey: row.holder_key,
      profile: row.application_profile,
      template: row.application_template,
      dual: row.dual,
      publishConsent: row.publish_consent,
      operatorId: row.operator_id === null ? null : String(row.operator_id),
    },
  };
}
