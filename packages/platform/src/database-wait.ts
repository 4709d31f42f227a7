import { isDatabaseUnavailable } from '@sm2ca/store';
import type { Config } from './config.ts';
import { type Database, openDatabase } from './database.ts';
import type { Logger } from './logger.ts';

const firstDelayMs = 500;
const longestDelayMs = 10_000;

/**
 * openDatabase, tried again with growing pauses for as long as the database is out of
 * reach: a service started before its database, or during an outage, comes up with it
 * instead of crash-looping. Anything else (a refused password, a failed migration) still
 * fails. `onWaiting` runs once, before the first pause.
 */
export async function openDatabaseWhenUp(
  config: Config,
  log: Logger,
  onWaiting: () => Promise<void>,
): Promise<Database> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openDatabase(config, log);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      const delayMs = Math.min(longestDelayMs, firstDelayMs * 2 ** (attempt - 1));
      log.warn(
        { attempt, retryInMs: delayMs },
        `${(err as Error).message}; trying again in ${delayMs / 1000} s`,
      );
      if (attempt === 1) await onWaiting();
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
