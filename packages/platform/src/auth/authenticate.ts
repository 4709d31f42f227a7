import { type Pool, withTransaction } from '@sm2ca/store';
import { AppError } from '../app-error.ts';
import { recordAudit } from '../audit.ts';
import { isSessionToken, liveSession } from './operator-sessions.ts';
import { findOperatorByCredential, findOperatorById, type Operator } from './operators.ts';

async function operatorKind(pool: Pool, id: string): Promise<string | undefined> {
  const { rows } = await pool.query({
    name: 'operator-kind',
    text: 'SELECT kind FROM operators WHERE id = $1',
    values: [id],
  });
  return rows[0]?.kind;
}

/** Who a token names, not judging whether it may be used: refusal audits name the asker. */
export async function operatorOfToken(pool: Pool, token: string, now: Date): Promise<Operator | undefined> {
  if (!isSessionToken(token)) return findOperatorByCredential(pool, token);
  const session = await liveSession(pool, token, now);
  return session && findOperatorById(pool, session.operatorId);
}

/** An authenticated operator; a session's until its expiry, an automation credential's until changed. */
export interface Authenticated {
  operator: Operator;
  expiresAt?: Date;
}

/**
 * The operator a bearer token stands for: a session from certificate login (sm2ses_), or the
 * long-lived credential of an automation account. A person holds no usable long-lived credential:
 * theirs is refused so that only certificate login plus TOTP admits them.
 */
export async function authenticate(pool: Pool, token: string, now: Date): Promise<Authenticated> {
  if (isSessionToken(token)) {
    const session = await liveSession(pool, token, now);
    const operator = session && (await findOperatorById(pool, session.operatorId));
    if (!session || !operator)
      throw new AppError(
        'AUTH_SESSION_INVALID',
        'the session is unknown, ended or expired; log in again',
        401,
      );
    return { operator, expiresAt: session.expiresAt };
  }
  const operator = await findOperatorByCredential(pool, token);
  if (!operator) throw new AppError('AUTH_INVALID', 'the credential is unknown or disabled', 401);
  if ((await operatorKind(pool, operator.id)) !== 'automation') {
    // A person's old credential in use: they, or whoever holds it, are going around login.
    await withTransaction(pool, (client) =>
      recordAudit(
        client,
        { name: operator.name, role: operator.roles.join('+') || 'none' },
        {
          action: 'operator.bearer-refuse',
          subjectType: 'operator',
          subjectId: operator.id,
          after: { code: 'AUTH_BEARER_AUTOMATION_ONLY' },
        },
      ),
    );
    throw new AppError(
      'AUTH_BEARER_AUTOMATION_ONLY',
      'bearer credentials are for automation accounts; a person logs in with their certificate (POST /v1/login)',
      401,
    );
  }
  return { operator };
}
