import { type Actor, AppError } from '@sm2ca/platform';
import type { Pool, PoolClient } from '@sm2ca/store';
import { loginProfile } from './login-certificates.ts';

/**
 * Who decides a request: a reviewer for holders' certificates, a super admin for an operator's
 * own (operator-sign) certificate, whether it is applied for, renewed, re-keyed, frozen,
 * unfrozen or revoked. The entry clerk enters and the certificate maker issues either kind.
 */
export type Decider = 'reviewer' | 'super_admin';

/** What a request concerns: an operator's own certificate (and which operator's), or not. */
export type Concern =
  | { operatorCertificate: false }
  | { operatorCertificate: true; operatorId: string | null };

export function concernOfApplication(row: { profile: string; operator_id: unknown }): Concern {
  if (row.profile !== loginProfile) return { operatorCertificate: false };
  return { operatorCertificate: true, operatorId: row.operator_id == null ? null : String(row.operator_id) };
}

/** The certificate's concern: the operator its application named, else the one it is bound to for login. */
export async function concernOfCertificate(
  client: PoolClient,
  issuerId: string,
  serial: string,
): Promise<Concern> {
  const { rows } = await client.query(
    `SELECT c.profile,
            coalesce((SELECT a.operator_id FROM applications a
                       WHERE a.issuer_id = c.issuer_id AND a.serial = c.serial AND a.status = 'issued'),
                     (SELECT oc.operator_id FROM operator_certificates oc
                       WHERE oc.issuer_id = c.issuer_id AND oc.serial = c.serial)) AS operator_id
       FROM certificates c WHERE c.issuer_id = $1 AND c.serial = $2`,
    [issuerId, serial],
  );
  return rows[0] ? concernOfApplication(rows[0]) : { operatorCertificate: false };
}

/** The refusals requireDecider makes, audited on the reviewers' routes too. */
export const deciderRefusals: ReadonlySet<string> = new Set([
  'OPERATOR_CERTIFICATE_SUPER_ADMIN_ONLY',
  'NOT_AN_OPERATOR_CERTIFICATE',
  'OPERATOR_CERTIFICATE_OWN',
]);

/**
 * Refuses a decision the actor may not take on a request of this concern (403, stable codes):
 * a reviewer never decides on an operator's certificate, a super admin only on those, and never
 * on their own.
 */
export function requireDecider(decider: Decider, actor: Actor & { id: string }, concern: Concern): void {
  if (decider === 'reviewer' && concern.operatorCertificate) {
    throw new AppError(
      'OPERATOR_CERTIFICATE_SUPER_ADMIN_ONLY',
      "an operator's own certificate is decided by a super admin, at /v1/admin/operator-certificates/…",
      403,
    );
  }
  if (decider === 'super_admin' && !concern.operatorCertificate) {
    throw new AppError(
      'NOT_AN_OPERATOR_CERTIFICATE',
      "a super admin decides only on operators' own (operator-sign) certificates; a reviewer decides this one",
      403,
    );
  }
  if (concern.operatorCertificate && concern.operatorId === actor.id) {
    throw new AppError(
      'OPERATOR_CERTIFICATE_OWN',
      'an administrator may not decide on their own certificate',
      403,
    );
  }
}

/** The operator an application is for: named for an operator-sign certificate, and only there. */
export async function operatorOfApplication(
  pool: Pool,
  profile: string,
  operatorId: string | undefined,
): Promise<string | null> {
  if (profile !== loginProfile) {
    if (operatorId === undefined) return null;
    throw new AppError(
      'OPERATOR_ONLY_FOR_OPERATOR_CERTIFICATE',
      `operatorId belongs to ${loginProfile} applications only`,
      400,
    );
  }
  if (operatorId === undefined) {
    throw new AppError(
      'OPERATOR_CERTIFICATE_NAMES_OPERATOR',
      `a ${loginProfile} application names the operator it is for (operatorId)`,
      400,
    );
  }
  const { rows } = await pool.query('SELECT disabled_at FROM operators WHERE id = $1', [operatorId]);
  if (!rows[0]) throw new AppError('OPERATOR_NOT_FOUND', `no operator ${operatorId}`, 404);
  if (rows[0].disabled_at) throw new AppError('OPERATOR_DISABLED', `operator ${operatorId} is disabled`, 409);
  return operatorId;
}
