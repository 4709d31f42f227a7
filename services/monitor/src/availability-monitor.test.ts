import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Database, loadConfig } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/support/test-database.ts';
import { buildMonitorApp } from './app.ts';

const until = async (what: string, check: () => Promise<boolean>, limitMs = 20_000) => {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('availability monitor', () => {
  const db = useTestDatabase();
  let ra: Server;
  let raStatus = 200;

  beforeAll(async () => {
    ra = createServer((_req, res) => {
      res.statusCode = raStatus;
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => ra.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => ra.close(() => resolve())));

  it('stores one probe per service and round with its error code, and counts them at /metrics', async () => {
    const config = loadConfig({
      SM2CA_HOME: '/nonexistent',
      SM2CA_MONITOR_INTERVAL_SECONDS: '0.1',
      SM2CA_RA_PORT: String((ra.address() as AddressInfo).port),
    });
    const log = createLogger('monitor', { level: 'silent' });
    const app = await buildMonitorApp(
      { config, log, db: { pool: db.pool, url: db.url } as Database },
      { leaderRetryMs: 100 },
    );
    await app.ready();
    try {
      const probes = async (service: string) =>
        (
          await db.pool.query(
            'SELECT ok, error_code, interval_ms FROM availability_probes WHERE service = $1 ORDER BY probed_at',
            [service],
          )
        ).rows;
      await until('three rounds', async () => (await probes('ocsp')).length >= 3);
      // An empty database has no CA to ask about: no real OCSP question, no CRL to fetch.
      expect((await probes('ocsp'))[0]).toEqual({
        ok: false,
        error_code: 'NO_CA_ISSUER',
        interval_ms: 100,
      });
      expect((await probes('crl'))[0]).toMatchObject({ ok: false, error_code: 'NO_CA_ISSUER' });
      expect((await probes('ra'))[0]).toMatchObject({ ok: true, error_code: null });
      raStatus = 503;
      await until('the RA seen down', async () =>
        (await probes('ra')).some((p) => p.error_code === 'HTTP_503'),
      );

      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(
        /sm2ca_availability_probes_total\{endpoint="ra",result="ok",code="",service="monitor"\} \d+/,
      );
      expect(metrics).toMatch(
        /sm2ca_availability_probe_duration_seconds_count\{[^}]*endpoint="ocsp"[^}]*\} \d+/,
      );
    } finally {
      await app.close();
    }
  });
});
