/** Socket failures: the server is down, restarting, or out of reach for now. */
const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * admin_shutdown, crash_shutdown, cannot_connect_now (starting up or recovering),
 * too_many_connections, and read_only_sql_transaction: connected to a primary that has just
 * been demoted to a standby, the new primary being elsewhere.
 */
const sqlStates = new Set(['57P01', '57P02', '57P03', '53300', '25006']);

/** What pg and pg-pool say, without a code, about a connection that was lost or never came. */
const messages = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
];

/**
 * Whether `err` (or what caused it) says the database cannot be reached right now, as
 * opposed to refusing what was asked: worth waiting for, and a 503 to a client.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined; e; ) {
    const { code, message } = e;
    if (code === 'DATABASE_UNAVAILABLE') return true;
    if (typeof code === 'string' && (socketCodes.has(code) || sqlStates.has(code) || /^08/.test(code))) {
      return true;
    }
    if (typeof message === 'string' && messages.some((m) => m.test(message))) return true;
    if (e instanceof AggregateError && e.errors.some(isDatabaseUnavailable)) return true;
    e = e.cause as typeof e;
  }
  return false;
}
