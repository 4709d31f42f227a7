import { type Config, type Database, type Logger, openDatabase } from '@sm2ca/platform';
import { progress } from './output.ts';

/** Opens (and migrates) the configured database for one command and always closes it. */
export async function withDatabase<T>(
  config: Config,
  log: Logger,
  use: (db: Database) => Promise<T>,
): Promise<T> {
  progress(
    config.databaseUrl ? 'connecting to DATABASE_URL' : `starting embedded PostgreSQL in ${config.home}`,
  );
  const db = await openDatabase(config, log);
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}
