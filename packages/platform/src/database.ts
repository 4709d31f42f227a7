import { join } from 'node:path';
import {
  connectPool,
  type EmbeddedPostgresHandle,
  migrate,
  migrationsDir,
  type Pool,
  StoreError,
  startEmbeddedPostgres,
} from '@sm2ca/store';
import { AppError, ConfigError } from './app-error.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export interface Database {
  pool: Pool;
  url: string;
  /** Present when this process started the embedded PostgreSQL and so must stop it. */
  embedded?: EmbeddedPostgresHandle;
  close(): Promise<void>;
}

/**
 * The configured database, reachable and migrated: DATABASE_URL when set,
 * otherwise the embedded PostgreSQL under the data directory. Failures name the
 * setting to fix; a server out of reach fails with DATABASE_UNAVAILABLE instead.
 */
export async function openDatabase(
  config: Config,
  log: Logger,
  options: { migrate?: boolean } = {},
): Promise<Database> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let url = config.databaseUrl;
  if (!url) {
    try {
      embedded = await startEmbeddedPostgres({
        dir: join(config.home, 'pg'),
        port: config.embeddedPostgresPort,
        onLog: (line) => log.debug({ component: 'postgres' }, line),
      });
    } catch (err) {
      const setting = (err as StoreError).code === 'EMBEDDED_PG_PORT' ? 'SM2CA_PG_PORT' : 'SM2CA_HOME';
      throw new ConfigError(setting, (err as Error).message, { cause: err });
    }
    url = embedded.url;
    log.info(
      { port: config.embeddedPostgresPort, dir: join(config.home, 'pg') },
      'embedded PostgreSQL started',
    );
  }
  let pool: Pool;
  try {
    pool = await connectPool(url, {
      max: config.databasePoolSize,
      outageWaitMs: config.databaseOutageWaitSeconds * 1000,
    });
  } catch (err) {
    await embedded?.stop();
    // A server that is down may come back; a URL it refuses (password, database name) will not.
    if (err instanceof StoreError && err.code === 'DATABASE_UNAVAILABLE') {
      throw new AppError(err.code, `DATABASE_URL: ${err.message}`, 503, undefined, { cause: err });
    }
    if (err instanceof StoreError) throw new ConfigError('DATABASE_URL', err.message, { cause: err });
    throw err;
  }
  const close = async () => {
    await pool.end();
    await embedded?.stop();
  };
  if (options.migrate !== false) {
    try {
      const result = await migrate(pool, migrationsDir);
      if (result.applied.length > 0) log.info({ applied: result.applied }, 'migrations applied');
    } catch (err) {
      await close();
      throw err;
    }
  }
  return { pool, url, close, ...(embedded ? { embedded } : {}) };
}
