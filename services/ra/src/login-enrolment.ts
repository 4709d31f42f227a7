import { type Actor, AppError, recordAudit } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import { Secret } from 'otpauth';
import { loginProfile } from './login-certificates.ts';
import { concernOfCertificate } from './operator-certificates.ts';
import { operatorTotp } from './operator-login.ts';
import type { TotpSeal } from './totp-seal.ts';

export interface Enrolment {
  operatorId: string;
  issuerId: string;
  serial: string;
  kind: 'person';
  /** Present when a TOTP secret was made: shown once, for the operator's authenticator app. */
  totp?: { secret: string; uri: string };
}

/**
 * Binds an operator-sign certificate our CA issued to an operator, who becomes a person: their
 * bearer credential stops working and they log in with the certificate and TOTP from now on.
 * A TOTP secret is made on the first enrolment, or again when asked (a lost authenticator); a
 * renewal's new certificate keeps the one the operator has. Nobody enrols themselves.
 */
export async function enrolForLogin(
  pool: Pool,
  seal: TotpSeal,
  actor: Actor & { id: string },
  input: { operatorId: string; issuerId: string; serial: string; newTotp?: boolean },
): Promise<Enrolment> {
  const serial = input.serial.replace(/:/g, '').toLowerCase();
  if (actor.id === input.operatorId) {
    throw new AppError('LOGIN_ENROL_SELF', 'an administrator cannot enrol their own login certificate', 403);
  }
  return withTransaction(pool, async (client) => {
    const operator = (
      await client.query('SELECT name, disabled_at FROM operators WHERE id = $1 FOR UPDATE', [
        input.operatorId,
      ])
    ).rows[0];
    if (!operator) throw new AppError('OPERATOR_NOT_FOUND', `no operator ${input.operatorId}`, 404);
    if (operator.disabled_at)
      throw new AppError('OPERATOR_DISABLED', `operator ${input.operatorId} is disabled`, 409);
    const certificate = (
      await client.query('SELECT status, profile FROM certificates WHERE issuer_id = $1 AND serial = $2', [
        input.issuerId,
        serial,
      ])
    ).rows[0];
    if (!certificate)
      throw new AppError('CERTIFICATE_NOT_FOUND', `no certificate ${input.issuerId}/${serial}`, 404);
    if (certificate.profile !== loginProfile) {
      throw new AppError(
        'LOGIN_CERTIFICATE_PROFILE',
        `only ${loginProfile} certificates log in; this one is ${certificate.profile}`,
        422,
      );
    }
    if (certificate.status !== 'good') {
      throw new AppError('LOGIN_CERTIFICATE_NOT_GOOD', `this certificate is ${certificate.status}`, 409);
    }
    const named = await concernOfCertificate(client, input.issuerId, serial);
    if (named.operatorCertificate && named.operatorId !== null && named.operatorId !== input.operatorId) {
      throw new AppError(
        'LOGIN_CERTIFICATE_OTHER_OPERATOR',
        `this certificate was applied for operator ${named.operatorId}`,
        409,
      );
    }
    const bound = await client.query(
      `INSERT INTO operator_certificates (issuer_id, serial, operator_id, bound_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (issuer_id, serial) DO UPDATE SET bound_at = operator_certificates.bound_at
       RETURNING operator_id`,
      [input.issuerId, serial, input.operatorId, actor.name],
    );
    if (String(bound.rows[0].operator_id) !== input.operatorId) {
      throw new AppError('LOGIN_CERTIFICATE_TAKEN', 'this certificate is bound to another operator', 409);
    }
    await client.query("UPDATE operators SET kind = 'person' WHERE id = $1", [input.operatorId]);
    const hasTotp = (
      await client.query('SELECT 1 FROM operator_totp WHERE operator_id = $1', [input.operatorId])
    ).rowCount;
    let totp: Enrolment['totp'];
    if (!hasTotp || input.newTotp) {
      const secret = new Secret({ size: 20 });
      await client.query(
        `INSERT INTO operator_totp (operator_id, sealed_secret, created_at) VALUES ($1, $2, now())
         ON CONFLICT (operator_id) DO UPDATE SET sealed_secret = $2, last_step = NULL, created_at = now()`,
        [input.operatorId, seal.seal(input.operatorId, new Uint8Array(secret.buffer))],
      );
      totp = {
        secret: secret.base32,
        uri: operatorTotp(new Uint8Array(secret.buffer), operator.name).toString(),
      };
    }
    await recordAudit(client, actor, {
      action: 'operator.login-enrol',
      subjectType: 'operator',
      subjectId: input.operatorId,
      after: { issuerId: input.issuerId, serial, kind: 'person', newTotp: totp !== undefined },
    });
    return {
      operatorId: input.operatorId,
      issuerId: input.issuerId,
      serial,
      kind: 'person',
      ...(totp ? { totp } : {}),
    };
  });
}
