import type { Server } from 'node:http';
import type { Device } from '@sm2ca/device';
import { AppError } from './app-error.ts';
import { AuditChainJob } from './audit-trail/audit-chain-job.ts';
import { type Config, loadConfig } from './config.ts';
import { openConfiguredDevice } from './crypto-device.ts';
import type { Database } from './database.ts';
import { openDatabaseWhenUp } from './database-wait.ts';
import type { HttpServer } from './http-server.ts';
import { createLogger, type Logger } from './logger.ts';
import { observeDevice } from './metrics/device-metrics.ts';
import { closeWaitingServer, listenWhileWaiting } from './waiting-server.ts';

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
 * SIGTERM/SIGINT. A database out of reach is waited for, the address answering
 * "alive, not ready" meanwhile; other start-up failures print one line and exit 1.
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
  const { host, port } = config.services[definition.name];
  let waiting: Server | undefined;
  let db: Database | undefined;
  let device: Device | undefined;
  let app: HttpServer | undefined;
  let auditChain: AuditChainJob | undefined;
  const stop = async () => {
    if (waiting) await closeWaitingServer(waiting);
    await auditChain?.stop();
    await app?.close();
    await device?.close();
    await db?.close();
  };
  const listenOrExit = async <T>(listen: () => Promise<T>): Promise<T> => {
    try {
      return await listen();
    } catch (err) {
      const line = listenFailure(definition.name, host, port, err);
      if (!line) throw err;
      process.stderr.write(`${definition.name}: ${line}\n`);
      await stop().catch(() => {});
      process.exit(cannotListenExitCode);
    }
  };
  // A supervisor probes readiness only after this, so it never mistakes another process on the port for us.
  const announceListening = () => process.send?.('listening');
  // The device is opened while the database is connected to: neither waits on the other.
  const opening = definition.needsDevice ? openConfiguredDevice(config) : undefined;
  opening?.catch(() => {});
  try {
    db = await openDatabaseWhenUp(config, log, async () => {
      waiting = await listenOrExit(() => listenWhileWaiting(host, port));
      announceListening();
    });
    device = await opening;
    app = await definition.build({ config, log, db, ...(device ? { device } : {}) });
    if (device) observeDevice(app.metrics, device);
    const built = app;
    const waited = waiting !== undefined;
    if (waiting) await closeWaitingServer(waiting);
    waiting = undefined;
    await listenOrExit(() => built.listen({ host, port }));
    log.info({ host, port }, `${definition.name} listening`);
    // Every service carries the audit chain's sealer; one replica of one of them leads it.
    if (device) {
      const signer = device;
      auditChain = new AuditChainJob({
        pool: db.pool,
        url: db.url,
        config,
        log,
        signer: (label) => signer.signer(label),
      });
      auditChain.start();
    }
    if (!waited) announceListening();
  } catch (err) {
    const line = err instanceof AppError ? `${err.message} [${err.code}]` : (err as Error).message;
    process.stderr.write(`${definition.name}: ${line}\n`);
    log.error({ err }, 'start failed');
    device ??= await opening?.catch(() => undefined);
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
