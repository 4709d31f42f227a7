import { createHttpServer, type HttpServer, type ServiceContext } from '@sm2ca/platform';
import { AvailabilityMonitor } from './availability-monitor.ts';

export interface MonitorAppOptions {
  /** How often a follower tries to become the monitor that probes. */
  leaderRetryMs?: number;
}

/**
 * The availability monitor: no routes of its own beyond health and /metrics. It probes while the
 * server is ready and stops before it closes, ahead of the database.
 */
export async function buildMonitorApp(
  context: ServiceContext,
  options: MonitorAppOptions = {},
): Promise<HttpServer> {
  const app = await createHttpServer({
    service: 'monitor',
    readiness: context.db.pool,
    log: context.log,
    timeouts: context.config.http,
    title: 'SM2 CA — availability monitor',
  });
  const monitor = new AvailabilityMonitor({
    pool: context.db.pool,
    url: context.db.url,
    config: context.config,
    log: context.log,
    metrics: app.metrics,
    ...(options.leaderRetryMs ? { leaderRetryMs: options.leaderRetryMs } : {}),
  });
  app.addHook('onReady', () => monitor.start());
  app.addHook('onClose', () => monitor.stop());
  return app;
}
