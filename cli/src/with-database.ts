import { type Config, type Database, type Logger, openDatabase } from '@sm2ca/platform';
import { progress } from './output.ts';

/** Opens (and migrates) the configured database, saying which one: the embedded one takes seconds to start. */
export function openCommandDatabase(config: Config, log: Logger): Promise<Database> {
  progress(
    config.databaseUrl ? 'connecting to DATABASE_URL' : `starting embedded PostgreSQL in ${config.home}`,
  );
  return openDatabase(config, log);
}

/** Opens the configured database for one command and always closes it. */
export async function withDatabase<T>(
  config: Config,
  log: Logger,
  use: (db: Database) => Promise<T>,
): Promise<T> {
  const db = await openCommandDatabase(config, log);
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}
