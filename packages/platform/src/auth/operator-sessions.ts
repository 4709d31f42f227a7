import type { Pool, PoolClient } from '@sm2ca/store';
import { credentialDigest, newCredential } from './credential.ts';

/** What a session token starts with, so access control tells it from an automation credential. */
export const sessionTokenPrefix = 'sm2ses';

export function isSessionToken(token: string): boolean {
  return token.startsWith(`${sessionTokenPrefix}_`);
}

/**
 * Opens a session for an operator who has just logged in with `certificate`; answers the token,
 * which is shown once: only its digest is stored.
 */
export async function openSession(
  client: PoolClient,
  input: { operatorId: string; issuerId: string; serial: string; now: Date; minutes: number },
): Promise<{ token: string; expiresAt: Date }> {
  const token = newCredential(sessionTokenPrefix);
  const expiresAt = new Date(input.now.getTime() + input.minutes * 60_000);
  await client.query(
    `INSERT INTO operator_sessions (token_digest, operator_id, issuer_id, serial, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [credentialDigest(token), input.operatorId, input.issuerId, input.serial, input.now, expiresAt],
  );
  return { token, expiresAt };
}

/**
 * The operator behind a session token that is neither ended nor expired at `now`, and whose
 * login certificate is still good: freezing or revoking the certificate ends its sessions at once.
 */
export async function liveSession(
  pool: Pool,
  token: string,
  now: Date,
): Promise<{ operatorId: string; expiresAt: Date } | undefined> {
  const { rows } = await pool.query({
    name: 'operator-session',
    text: `SELECT s.operator_id, s.expires_at FROM operator_sessions s
             JOIN certificates c ON c.issuer_id = s.issuer_id AND c.serial = s.serial
            WHERE s.token_digest = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND c.status = 'good'`,
    values: [credentialDigest(token), now],
  });
  return rows[0] ? { operatorId: String(rows[0].operator_id), expiresAt: rows[0].expires_at } : undefined;
}

/** Ends a live session; answers whether there was one. */
export async function endSession(client: PoolClient, token: string, now: Date): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE operator_sessions SET ended_at = $2
      WHERE token_digest = $1 AND ended_at IS NULL AND expires_at > $2`,
    [credentialDigest(token), now],
  );
  return rowCount === 1;
}
