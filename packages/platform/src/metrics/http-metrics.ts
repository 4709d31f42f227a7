import type { Pool } from '@sm2ca/store';
import type { HttpServer } from '../http-server.ts';
import { ServiceMetrics } from './service-metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics;
  }
}

/** Seconds: the responder answers in well under a millisecond, an issuance in tens of them. */
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * GET /metrics in the Prometheus text format, with what every service has: requests by route
 * template (never the raw URL, whose serials and references would make a series each) and status,
 * their latency, the database pool, and the Node process. Public like /health: it says how busy
 * a service is, never who asked for what.
 */
export function registerMetrics(app: HttpServer, service: string, pool?: Pool): void {
  const metrics = new ServiceMetrics(service);
  app.decorate('metrics', metrics);
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = metrics.counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route template and status',
    labelNames,
  });
  const latency = metrics.histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from the request arriving to the response sent, by route template and status',
    labelNames,
    buckets: latencyBuckets,
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(reply.statusCode),
    };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
  });
  if (pool) {
    metrics.gauge({
      name: 'sm2ca_db_pool_connections',
      help: 'Database pool connections: total open, idle, and clients waiting for one',
      labelNames: ['state'],
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
  }
  app.get('/metrics', { schema: { hide: true }, config: { access: 'public' } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
