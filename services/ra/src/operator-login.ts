import { randomBytes } from 'node:crypto';
import { sm3, verifySm2 } from '@sm2ca/gm';
import { type Actor, AppError, openSession, recordAudit } from '@sm2ca/platform';
import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import { Secret, TOTP } from 'otpauth';
import {
  boundCertificate,
  certificateRefusal,
  findPresentedCertificate,
  type LoginCertificate,
} from './login-certificates.ts';
import { clearFailures, countFailure, lockedUntil } from './login-failures.ts';
import type { LoginSettings } from './login-settings.ts';
import type { TotpSeal } from './totp-seal.ts';

export interface LoginContext {
  pool: Pool;
  seal: TotpSeal;
  settings: LoginSettings;
}

export interface Session {
  token: string;
  expiresAt: Date;
  operator: { id: string; name: string };
}

const anonymous: Actor = { name: 'anonymous', role: 'login' };
const actorOf = (found: LoginCertificate): Actor => ({ name: found.operatorName, role: 'login' });

/** The empty signer ID OpenSSL 3 and node:crypto use unless told otherwise. */
const EMPTY_ID = new Uint8Array(0);

function challengeDigest(challenge: string): Buffer {
  return Buffer.from(sm3(new TextEncoder().encode(challenge)));
}

/**
 * Audits a refused login in the caller's transaction (which commits: a challenge once tried stays
 * used) and, when `counts`, counts it towards the lockout. Answers the error to throw after commit.
 */
async function refusal(
  client: PoolClient,
  context: LoginContext,
  found: LoginCertificate | undefined,
  error: AppError,
  counts = false,
): Promise<{ refused: AppError }> {
  const until = counts && found ? await countFailure(client, found.operatorId, context.settings) : undefined;
  await recordAudit(client, found ? actorOf(found) : anonymous, {
    action: 'operator.login-refuse',
    subjectType: 'operator',
    subjectId: found?.operatorId ?? 'unknown',
    after: {
      code: error.code,
      message: error.message,
      ...(found ? { issuerId: found.issuerId, serial: found.serial } : {}),
      ...(until ? { lockedUntil: until.toISOString() } : {}),
    },
  });
  return { refused: error };
}

function locked(until: Date, now: Date): AppError {
  const retryAfterSeconds = Math.ceil((until.getTime() - now.getTime()) / 1000);
  return new AppError(
    'LOGIN_LOCKED',
    `too many failed logins: this operator may try again in ${retryAfterSeconds} s`,
    429,
    { retryAfterSeconds, lockedUntil: until.toISOString() },
  );
}

/** Throws a refusal only once its transaction committed, so the audit record and the used challenge stay. */
async function settle<T>(outcome: Promise<T | { refused: AppError }>): Promise<T> {
  const result = await outcome;
  if (typeof result === 'object' && result !== null && 'refused' in result) throw result.refused;
  return result as T;
}

/**
 * A fresh challenge for the holder of `certificate`. The text names its purpose, the operator and
 * the certificate, so a signature over it is no use anywhere else; it is kept as a digest, valid
 * for settings.challengeSeconds and for one attempt.
 */
export async function issueChallenge(
  context: LoginContext,
  certificate: string,
): Promise<{ challenge: string; expiresAt: Date }> {
  const found = await findPresentedCertificate(context.pool, certificate);
  const now = context.settings.now();
  return settle(
    withTransaction(context.pool, async (client) => {
      if (!found) {
        const unknown = new AppError(
          'LOGIN_CERTIFICATE_UNKNOWN',
          'this certificate is not an operator login certificate of this CA',
          401,
        );
        return refusal(client, context, undefined, unknown);
      }
      const refused = certificateRefusal(found, now);
      if (refused) return refusal(client, context, found, refused);
      const until = await lockedUntil(client, found.operatorId, now);
      if (until) return refusal(client, context, found, locked(until, now));
      const expiresAt = new Date(now.getTime() + context.settings.challengeSeconds * 1000);
      const challenge = [
        'SM2CA operator login',
        `operator: ${found.operatorId}`,
        `certificate: ${found.issuerId}/${found.serial}`,
        `nonce: ${randomBytes(32).toString('base64url')}`,
        `expires: ${expiresAt.toISOString()}`,
      ].join('\n');
      await client.query(
        `INSERT INTO login_challenges (digest, operator_id, issuer_id, serial, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [challengeDigest(challenge), found.operatorId, found.issuerId, found.serial, now, expiresAt],
      );
      await recordAudit(client, actorOf(found), {
        action: 'operator.login-challenge',
        subjectType: 'operator',
        subjectId: found.operatorId,
        after: { issuerId: found.issuerId, serial: found.serial, expiresAt: expiresAt.toISOString() },
      });
      return { challenge, expiresAt };
    }),
  );
}

/** The operator's TOTP, as enrolment made it (RFC 6238 defaults: SHA-1, 6 digits, 30 s). */
export function operatorTotp(secret: Uint8Array, label: string): TOTP {
  return new TOTP({ issuer: 'SM2CA', label, secret: Secret.fromHex(Buffer.from(secret).toString('hex')) });
}

/**
 * Whether `code` is the operator's TOTP now and newer than the last one accepted (a code
 * overheard or shoulder-surfed is no use twice); records its time step when it is.
 */
async function totpAccepted(
  client: PoolClient,
  context: LoginContext,
  found: LoginCertificate,
  code: string,
): Promise<boolean | 'missing'> {
  const { rows } = await client.query(
    'SELECT sealed_secret, last_step FROM operator_totp WHERE operator_id = $1 FOR UPDATE',
    [found.operatorId],
  );
  if (!rows[0]) return 'missing';
  const totp = operatorTotp(context.seal.open(found.operatorId, rows[0].sealed_secret), found.operatorName);
  const timestamp = context.settings.now().getTime();
  const delta = totp.validate({ token: code, timestamp, window: context.settings.totpWindow });
  if (delta === null) return false;
  const step = totp.counter({ timestamp }) + delta;
  if (rows[0].last_step !== null && step <= Number(rows[0].last_step)) return false;
  await client.query('UPDATE operator_totp SET last_step = $2 WHERE operator_id = $1', [
    found.operatorId,
    step,
  ]);
  return true;
}

/** Why `signature` over `challenge` does not admit the holder of `found`, if it does not. */
function signatureRefusal(
  found: LoginCertificate,
  challenge: string,
  signature: string,
): AppError | undefined {
  const message = new TextEncoder().encode(challenge);
  const der = new Uint8Array(Buffer.from(signature, 'base64'));
  const spki = found.certificate.spki;
  if (verifySm2(spki, message, der)) return undefined;
  // The usual mistake, told apart so the client can be fixed: OpenSSL 3 signs under an empty ID.
  if (verifySm2(spki, message, der, EMPTY_ID)) {
    return new AppError(
      'LOGIN_SIGNER_ID_WRONG',
      'the challenge was signed under an empty SM2 signer ID; sign under the GM default ID 1234567812345678 (OpenSSL: -sigopt distid:1234567812345678)',
      401,
    );
  }
  return new AppError(
    'LOGIN_SIGNATURE_INVALID',
    'the signature does not verify under the certificate key and the GM default ID',
    401,
  );
}

/**
 * Admits an operator who signed a live challenge with the key of a good login certificate and
 * gives the current TOTP code: one transaction consumes the challenge, checks everything again
 * (the certificate may have been revoked since the challenge) and opens the session, or records
 * the refusal. Only failures after a valid signature count towards the lockout: anyone can get a
 * challenge for a public certificate, and must not be able to lock its holder out with it.
 */
export async function login(
  context: LoginContext,
  input: { challenge: string; signature: string; totp: string },
): Promise<Session> {
  const now = context.settings.now();
  return settle(
    withTransaction(context.pool, async (client) => {
      const { rows } = await client.query(
        `SELECT issuer_id, serial, expires_at, used_at FROM login_challenges WHERE digest = $1 FOR UPDATE`,
        [challengeDigest(input.challenge)],
      );
      const row = rows[0];
      if (!row) {
        const unknown = new AppError('LOGIN_CHALLENGE_UNKNOWN', 'this challenge was not issued here', 401);
        return refusal(client, context, undefined, unknown);
      }
      const found = await boundCertificate(client, row.issuer_id, row.serial);
      if (row.used_at) {
        const replayed = new AppError(
          'LOGIN_CHALLENGE_REPLAYED',
          'this challenge was used; ask for a new one',
          401,
        );
        return refusal(client, context, found, replayed);
      }
      await client.query('UPDATE login_challenges SET used_at = $2 WHERE digest = $1', [
        challengeDigest(input.challenge),
        now,
      ]);
      if (row.expires_at <= now) {
        const expired = new AppError(
          'LOGIN_CHALLENGE_EXPIRED',
          'this challenge expired; ask for a new one',
          401,
        );
        return refusal(client, context, found, expired);
      }
      const refused =
        certificateRefusal(found, now) ?? signatureRefusal(found, input.challenge, input.signature);
      if (refused) return refusal(client, context, found, refused);
      const until = await lockedUntil(client, found.operatorId, now);
      if (until) return refusal(client, context, found, locked(until, now));
      const accepted = await totpAccepted(client, context, found, input.totp);
      if (accepted === 'missing') {
        const missing = new AppError(
          'LOGIN_TOTP_NOT_ENROLLED',
          'this operator has no TOTP second factor yet',
          403,
        );
        return refusal(client, context, found, missing);
      }
      if (!accepted) {
        const wrong = new AppError(
          'LOGIN_TOTP_INVALID',
          'the TOTP code is wrong, expired or already used',
          401,
        );
        return refusal(client, context, found, wrong, true);
      }
      await clearFailures(client, found.operatorId);
      const session = await openSession(client, {
        operatorId: found.operatorId,
        issuerId: found.issuerId,
        serial: found.serial,
        now,
        minutes: context.settings.sessionMinutes,
      });
      await recordAudit(client, actorOf(found), {
        action: 'operator.login',
        subjectType: 'operator',
        subjectId: found.operatorId,
        after: { issuerId: found.issuerId, serial: found.serial, expiresAt: session.expiresAt.toISOString() },
      });
      return { ...session, operator: { id: found.operatorId, name: found.operatorName } };
    }),
  );
}
