import pg from 'pg';
import { isDatabaseUnavailable } from './database-unavailable.ts';
import { StoreError } from './store-error.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** The URL with its password replaced, fit for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * A pool that has proven it can reach the database: a bad URL fails here, at
 * start-up, rather than on the first request. A server out of reach fails with
 * DATABASE_UNAVAILABLE (worth waiting for), anything else with DB_CONNECT_FAILED.
 */
export async function connectPool(
  url: string,
  options: { max?: number; connectTimeoutMs?: number; outageWaitMs?: number } = {},
) {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // pg-pool listens for errors only on idle clients: one checked out when the server goes away
  // would otherwise crash the process. Its query in flight fails; released, the pool drops it.
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    const client = await pool.connect();
    client.release();
    if (options.outageWaitMs) waitForConnections(pool, options.outageWaitMs);
  } catch (err) {
    await pool.end().catch(() => {});
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const code = isDatabaseUnavailable(err) ? 'DATABASE_UNAVAILABLE' : 'DB_CONNECT_FAILED';
    throw new StoreError(code, `cannot connect to ${redactUrl(url)} (${reason})`, { cause: err });
  }
  return pool;
}

const outageWaits = new WeakMap<pg.Pool, number>();

/** How long the pool waits for an unreachable database (connectPool's outageWaitMs); 0 when it fails at once. */
export function outageWaitMs(pool: pg.Pool): number {
  return outageWaits.get(pool) ?? 0;
}

/**
 * Makes the pool's connect (and so its query, which connects first) try again, with growing
 * pauses, for up to `waitMs` while the database is out of reach: nothing was sent yet, so
 * trying again is always safe, and a primary replaced within the wait costs the caller time
 * instead of an error.
 */
function waitForConnections(pool: pg.Pool, waitMs: number): void {
  outageWaits.set(pool, waitMs);
  const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
  const waiting = async (): Promise<pg.PoolClient> => {
    const deadline = Date.now() + waitMs;
    for (let pauseMs = 100; ; pauseMs = Math.min(pauseMs * 2, 1_000)) {
      try {
        return await connect();
      } catch (err) {
        if (!isDatabaseUnavailable(err) || pool.ending || Date.now() + pauseMs > deadline) throw err;
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    }
  };
  // pg-pool's own query() connects through the callback form.
  pool.connect = ((
    callback?: (err: Error | undefined, client?: pg.PoolClient, done?: () => void) => void,
  ) => {
    if (!callback) return waiting();
    waiting().then(
      (client) => callback(undefined, client, client.release),
      (err: Error) => callback(err),
    );
  }) as typeof pool.connect;
}
