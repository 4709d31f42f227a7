import type { Pool } from '@sm2ca/store';
import type { HttpServer } from './http-server.ts';

const answerWithinMs = 2_000;

/**
 * GET /health/ready: 200 while the database answers, 503 while it does not. Asked afresh
 * each time, so it follows an outage and the recovery without anyone restarting anything.
 */
export function registerReadiness(app: HttpServer, pool: Pool): void {
  app.get('/health/ready', { schema: { hide: true }, config: { access: 'public' } }, async (_req, reply) => {
    // A pool that waits out outages (SM2CA_DB_OUTAGE_WAIT_SECONDS) must not make the probe wait too.
    const ok = await Promise.race([
      pool.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), answerWithinMs).unref()),
    ]);
    return reply.status(ok ? 200 : 503).send({ ok });
  });
}
