import { type ParsedCertificate, parseCertificate, pemOrDerToDer } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { Pool, PoolClient } from '@sm2ca/store';

/** The profile of the certificates operators log in with. */
export const loginProfile = 'operator-sign';

/** An operator's login certificate as our CA issued it, with its status now. */
export interface LoginCertificate {
  operatorId: string;
  operatorName: string;
  operatorDisabled: boolean;
  issuerId: string;
  serial: string;
  status: string;
  profile: string;
  certificate: ParsedCertificate;
}

const select = `SELECT oc.operator_id, o.name, o.disabled_at, c.issuer_id, c.serial, c.status, c.profile, c.der
                  FROM operator_certificates oc
                  JOIN certificates c USING (issuer_id, serial)
                  JOIN operators o ON o.id = oc.operator_id`;

function loginCertificateOf(row: Record<string, unknown>): LoginCertificate {
  return {
    operatorId: String(row.operator_id),
    operatorName: String(row.name),
    operatorDisabled: row.disabled_at !== null,
    issuerId: String(row.issuer_id),
    serial: String(row.serial),
    status: String(row.status),
    profile: String(row.profile),
    certificate: parseCertificate(new Uint8Array(row.der as Buffer)),
  };
}

/**
 * The bound login certificate whose DER is byte for byte `presented` (PEM or base64 DER): the
 * certificates table holds exactly what our CA signed, so equality proves it is ours without a
 * chain to build.
 */
export async function findPresentedCertificate(
  pool: Pool,
  presented: string,
): Promise<LoginCertificate | undefined> {
  let der: Uint8Array;
  let serial: string;
  try {
    der = pemOrDerToDer(
      presented.includes('-----BEGIN') ? Buffer.from(presented) : Buffer.from(presented, 'base64'),
      'CERTIFICATE',
    );
    serial = Buffer.from(parseCertificate(der).serialNumber).toString('hex');
  } catch {
    throw new AppError(
      'LOGIN_CERTIFICATE_MALFORMED',
      'certificate: a DER (base64) or PEM X.509 certificate',
      400,
    );
  }
  const { rows } = await pool.query(`${select} WHERE oc.serial = $1 AND c.der = $2`, [
    serial,
    Buffer.from(der),
  ]);
  return rows[0] ? loginCertificateOf(rows[0]) : undefined;
}

/** The login certificate a challenge was made for, its status read again (it may have changed). */
export async function boundCertificate(
  client: PoolClient,
  issuerId: string,
  serial: string,
): Promise<LoginCertificate> {
  const { rows } = await client.query(`${select} WHERE oc.issuer_id = $1 AND oc.serial = $2`, [
    issuerId,
    serial,
  ]);
  if (!rows[0]) throw new Error(`login certificate ${issuerId}/${serial} vanished`);
  return loginCertificateOf(rows[0]);
}

/** Why a login certificate cannot be used at `now`, if it cannot. */
export function certificateRefusal(found: LoginCertificate, now: Date): AppError | undefined {
  if (found.operatorDisabled) {
    return new AppError('LOGIN_OPERATOR_DISABLED', 'this operator is disabled', 403);
  }
  if (found.profile !== loginProfile) {
    return new AppError('LOGIN_CERTIFICATE_PROFILE', `only ${loginProfile} certificates log in`, 403);
  }
  if (found.status === 'revoked') {
    return new AppError('LOGIN_CERTIFICATE_REVOKED', 'this certificate is revoked', 403);
  }
  if (found.status === 'hold') {
    return new AppError('LOGIN_CERTIFICATE_SUSPENDED', 'this certificate is suspended (frozen)', 403);
  }
  if (found.status !== 'good') {
    return new AppError('LOGIN_CERTIFICATE_NOT_GOOD', `this certificate is ${found.status}`, 403);
  }
  const { notBefore, notAfter } = found.certificate;
  if (now < notBefore || now > notAfter) {
    return new AppError('LOGIN_CERTIFICATE_EXPIRED', 'this certificate is outside its validity period', 403);
  }
  return undefined;
}
