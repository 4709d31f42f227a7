import type { PoolClient } from '@sm2ca/store';
import type { LoginSettings } from './login-settings.ts';

/** When an operator's lockout ends, if they are locked out at `now`. */
export async function lockedUntil(
  client: PoolClient,
  operatorId: string,
  now: Date,
): Promise<Date | undefined> {
  const { rows } = await client.query(
    'SELECT locked_until FROM login_failures WHERE operator_id = $1 AND locked_until > $2',
    [operatorId, now],
  );
  return rows[0]?.locked_until;
}

/**
 * Counts a failed login; from the limit on, each failure locks the account for twice as long
 * as the one before (back-off), so guessing TOTP codes with a stolen key gets nowhere.
 * Answers the end of the lockout this failure started, if it started one.
 */
export async function countFailure(
  client: PoolClient,
  operatorId: string,
  settings: LoginSettings,
): Promise<Date | undefined> {
  const now = settings.now();
  const { rows } = await client.query(
    `INSERT INTO login_failures (operator_id, failures, last_failure_at) VALUES ($1, 1, $2)
     ON CONFLICT (operator_id) DO UPDATE SET failures = login_failures.failures + 1, last_failure_at = $2
     RETURNING failures`,
    [operatorId, now],
  );
  const beyond = Number(rows[0].failures) - settings.maxFailures;
  if (beyond < 0) return undefined;
  const seconds = Math.min(settings.lockoutSeconds * 2 ** Math.min(beyond, 30), settings.maxLockoutSeconds);
  const until = new Date(now.getTime() + seconds * 1000);
  await client.query('UPDATE login_failures SET locked_until = $2 WHERE operator_id = $1', [
    operatorId,
    until,
  ]);
  return until;
}

export async function clearFailures(client: PoolClient, operatorId: string): Promise<void> {
  await client.query('DELETE FROM login_failures WHERE operator_id = $1', [operatorId]);
}
