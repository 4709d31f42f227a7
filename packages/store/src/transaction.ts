import { isDatabaseUnavailable } from './database-unavailable.ts';
import { outageWaitMs, type Pool, type PoolClient } from './pool.ts';
import { StoreError } from './store-error.ts';

/** serialization_failure and deadlock_detected: safe to run the whole transaction again. */
const retryable = new Set(['40001', '40P01']);

export interface TransactionOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  /** How many times a transaction that lost a serialization race is run again. */
  retries?: number;
}

/**
 * Runs `work` in one transaction: commit on success, roll back on any error.
 * `work` may run more than once, so it must not have effects outside the database.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const retries = options.retries ?? 5;
  for (let attempt = 0; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    let committing = false;
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${(options.isolation ?? 'read committed').toUpperCase()}`);
      const result = await work(client);
      committing = true;
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      // The database went away before COMMIT was sent (a primary failing over, or demoted under
      // us): the transaction did not commit, so it runs again on a new connection, after a pause
      // for the new primary to appear. Lost during COMMIT, it may have committed: that one goes
      // back to the caller. Only for a pool told to wait out outages: others answer 503 at once.
      if (!committing && isDatabaseUnavailable(err) && outageWaitMs(pool) > 0) {
        broken = true;
        if (attempt < retries) {
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
          continue;
        }
      }
      const code = (err as { code?: string }).code;
      if (code && retryable.has(code)) {
        if (attempt < retries) {
          await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** attempt));
          continue;
        }
        throw new StoreError('DB_CONFLICT', `transaction still conflicting after ${retries} retries`, {
          cause: err,
        });
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }
}
