import type { Device } from '@sm2ca/device';
import { AppError } from './app-error.ts';
import { type Config, loadConfig } from './config.ts';
import { openConfiguredDevice } from './crypto-device.ts';
import { type Database, openDatabase } from './database.ts';
import type { HttpServer } from './http-server.ts';
import { createLogger, type Logger } from './logger.ts';

export type ServiceName = keyof Config['services'];

export interface ServiceContext {
  config: Config;
  log: Logger;
  db: Database;
  device?: Device;
}

export interface ServiceDefinition {
  name: ServiceName;
  /** Services that hold keys open the crypto device; the others never touch it. */
  needsDevice: boolean;
  build(context: ServiceContext): Promise<HttpServer>;
}

/**
 * Starts one service as its own process: configuration, database, device,
 * HTTP on its configured address, a readiness route, and a clean stop on
 * SIGTERM/SIGINT. Start-up failures print one line and exit 1.
 */
export async function runService(definition: ServiceDefinition): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${definition.name}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const log = createLogger(definition.name, { level: config.logLevel });
  let db: Database | undefined;
  let device: Device | undefined;
  let app: HttpServer | undefined;
  const stop = async () => {
    await app?.close();
    await device?.close();
    await db?.close();
  };
  try {
    db = await openDatabase(config, log);
    if (definition.needsDevice) device = await openConfiguredDevice(config);
    app = await definition.build({ config, log, db, ...(device ? { device } : {}) });
    const database = db;
    app.get(
      '/health/ready',
      { schema: { hide: true }, config: { access: 'public' } },
      async (_req, reply) => {
        const ok = await database.pool.query('SELECT 1').then(
          () => true,
          () => false,
        );
        return reply.status(ok ? 200 : 503).send({ ok });
      },
    );
    const { host, port } = config.services[definition.name];
    await app.listen({ host, port });
    log.info({ host, port }, `${definition.name} listening`);
  } catch (err) {
    const line = err instanceof AppError ? `${err.message} [${err.code}]` : (err as Error).message;
    process.stderr.write(`${definition.name}: ${line}\n`);
    log.error({ err }, 'start failed');
    await stop().catch(() => {});
    process.exit(1);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await stop().catch((err) => log.error({ err }, 'stop failed'));
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
