import type { Device } from '@sm2ca/device';
import { AppError } from './app-error.ts';
import { type Config, loadConfig } from './config.ts';
import { openConfiguredDevice } from './crypto-device.ts';
import { type Database, openDatabase } from './database.ts';
import type { HttpServer } from './http-server.ts';
import { createLogger, type Logger } from './logger.ts';
import { registerReadiness } from './readiness.ts';

export type ServiceName = keyof Config['services'];

/**
 * Exit status of a service that cannot listen on its address (EX_CONFIG): restarting it would
 * fail the same way, so the supervisor stops instead of looping.
 */
export const cannotListenExitCode = 78;

const listenErrors: Record<string, { setting: 'HOST' | 'PORT'; why: string }> = {
  EADDRINUSE: { setting: 'PORT', why: 'address already in use' },
  EACCES: { setting: 'PORT', why: 'permission denied' },
  EADDRNOTAVAIL: { setting: 'HOST', why: 'no such local address' },
};

function listenFailure(name: ServiceName, host: string, port: number, err: unknown): string | undefined {
  const known = listenErrors[(err as NodeJS.ErrnoException).code ?? ''];
  if (!known) return undefined;
  return `cannot listen on ${host}:${port} (SM2CA_${name.toUpperCase()}_${known.setting}): ${known.why}`;
}

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
    registerReadiness(app, db.pool);
    const { host, port } = config.services[definition.name];
    try {
      await app.listen({ host, port });
    } catch (err) {
      const line = listenFailure(definition.name, host, port, err);
      if (!line) throw err;
      process.stderr.write(`${definition.name}: ${line}\n`);
      await stop().catch(() => {});
      process.exit(cannotListenExitCode);
    }
    log.info({ host, port }, `${definition.name} listening`);
    // A supervisor probes readiness only after this, so it never mistakes another process on the port for us.
    process.send?.('listening');
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
