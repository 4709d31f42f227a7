import { keyPurposeOf, PROFILES, type ProfileId, parseCertificate } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { PoolClient } from '@sm2ca/store';

type Db = Pick<PoolClient, 'query'>;

const endEntityProfiles = (Object.keys(PROFILES) as ProfileId[]).filter((id) => !PROFILES[id].ca);
export const encryptionProfiles = endEntityProfiles.filter((id) => keyPurposeOf(id) === 'encryption');
const signatureProfiles = endEntityProfiles.filter(
  (id) => keyPurposeOf(id) === 'signature' && id !== 'ocsp-signer',
);

export interface CertificateRef {
  issuerId: string;
  serial: string;
}

export interface EncryptionCertificate extends CertificateRef {
  holderKey: string;
  status: string;
}

export const storedSerial = (serial: string) => serial.replaceAll(':', '').toLowerCase();

/**
 * The encryption certificate whose escrowed key is asked for: the one named, in any state
 * (a revoked or expired one is exactly what old ciphertext needs), or the holder's newest good one.
 */
export async function findEncryptionCertificate(
  db: Db,
  named: Partial<CertificateRef> & { holderKey?: string },
): Promise<EncryptionCertificate> {
  const byName = named.issuerId !== undefined && named.serial !== undefined;
  if (byName === (named.holderKey !== undefined)) {
    throw new AppError(
      'CERTIFICATE_REFERENCE_INVALID',
      'name the encryption certificate by issuerId and serial, or the holder by holderKey — one of the two',
      400,
    );
  }
  const { rows } = byName
    ? await db.query(
        `SELECT issuer_id, serial, holder_key, status, profile FROM certificates
          WHERE issuer_id = $1 AND serial = $2 AND status <> 'planned'`,
        [named.issuerId, storedSerial(named.serial!)],
      )
    : await db.query(
        `SELECT issuer_id, serial, holder_key, status, profile FROM certificates
          WHERE holder_key = $1 AND profile = ANY($2) AND status = 'good' AND not_after > now()
          ORDER BY issued_at DESC LIMIT 1`,
        [named.holderKey, encryptionProfiles],
      );
  const row = rows[0];
  if (!row) {
    throw new AppError(
      'ENCRYPTION_CERTIFICATE_NOT_FOUND',
      byName
        ? `issuer ${named.issuerId} has no certificate ${named.serial}`
        : `holder ${named.holderKey} has no good encryption certificate`,
      404,
    );
  }
  if (!encryptionProfiles.includes(row.profile)) {
    throw new AppError(
      'NOT_ENCRYPTION_CERTIFICATE',
      `certificate ${row.serial} (${row.profile}) certifies a signature key, which KM never escrows`,
      422,
      { profile: row.profile },
    );
  }
  if (!row.holder_key) {
    throw new AppError('HOLDER_UNKNOWN', `certificate ${row.serial} records no holder`, 422);
  }
  return { issuerId: row.issuer_id, serial: row.serial, holderKey: row.holder_key, status: row.status };
}

/**
 * The holder's current signature certificate, whose public key the recovered key is enveloped
 * to: good, within its dates, the newest of the holder's signature certificates.
 */
export async function currentSignatureCertificate(db: Db, holderKey: string): Promise<CertificateRef> {
  const { rows } = await db.query(
    `SELECT issuer_id, serial FROM certificates
      WHERE holder_key = $1 AND profile = ANY($2) AND status = 'good'
        AND not_before <= now() AND not_after > now()
      ORDER BY issued_at DESC LIMIT 1`,
    [holderKey, signatureProfiles],
  );
  if (!rows[0]) {
    throw new AppError(
      'NO_SIGNATURE_CERTIFICATE',
      `holder ${holderKey} has no good signature certificate to envelope the key to; issue one first`,
      409,
    );
  }
  return { issuerId: rows[0].issuer_id, serial: rows[0].serial };
}

/** What keeps a certificate from receiving a released key: not ours, not a signature key, not good now. */
export async function signatureCertificateProblem(
  db: Db,
  ref: CertificateRef,
): Promise<{ message: string; status: string | null } | undefined> {
  const { rows } = await db.query(
    `SELECT status, profile, not_before <= now() AND not_after > now() AS in_dates
       FROM certificates WHERE issuer_id = $1 AND serial = $2`,
    [ref.issuerId, ref.serial],
  );
  const row = rows[0];
  const problem = !row
    ? 'is not one our CA issued'
    : !signatureProfiles.includes(row.profile)
      ? `is a ${row.profile} certificate, not a signature certificate`
      : row.status !== 'good'
        ? `is ${row.status === 'hold' ? 'suspended' : row.status}`
        : !row.in_dates
          ? 'is outside its validity dates'
          : undefined;
  if (!problem) return undefined;
  return {
    message: `certificate ${ref.serial} of issuer ${ref.issuerId} ${problem}`,
    status: row?.status ?? null,
  };
}

/** A certificate our CA issued for a signature key, good and within its dates now. */
export async function requireGoodSignatureCertificate(
  db: Db,
  ref: CertificateRef,
  code: string,
): Promise<void> {
  const problem = await signatureCertificateProblem(db, ref);
  if (problem) throw new AppError(code, problem.message, 422, { status: problem.status });
}

/**
 * The officer's certificate is their own: its holder key (e.g. resident-id:…) carries the number of
 * the identity document the officer showed.
 */
export async function requireOfficersOwn(db: Db, ref: CertificateRef, documentNumber: string): Promise<void> {
  const { rows } = await db.query(
    'SELECT holder_key FROM certificates WHERE issuer_id = $1 AND serial = $2',
    [ref.issuerId, ref.serial],
  );
  const holderKey = (rows[0]?.holder_key as string | null | undefined) ?? '';
  const number = holderKey.slice(holderKey.indexOf(':') + 1);
  if (!holderKey.includes(':') || number.toUpperCase() !== documentNumber.trim().toUpperCase()) {
    throw new AppError(
      'OFFICER_CERTIFICATE_NOT_OWN',
      `certificate ${ref.serial} was not issued to the holder of the officer's identity document`,
      422,
    );
  }
}

/** The SubjectPublicKeyInfo DER of a recorded certificate: the key KM envelopes to. */
export async function certificateSpki(db: Db, ref: CertificateRef): Promise<Uint8Array> {
  const { rows } = await db.query('SELECT der FROM certificates WHERE issuer_id = $1 AND serial = $2', [
    ref.issuerId,
    ref.serial,
  ]);
  if (!rows[0]?.der) {
    throw new AppError('CERTIFICATE_NOT_AVAILABLE', `certificate ${ref.serial} is not recorded`, 409);
  }
  return parseCertificate(new Uint8Array(rows[0].der)).spki;
}
