import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectPool, type EmbeddedPostgresHandle, type Pool, startEmbeddedPostgres } from '@sm2ca/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { loadConfig } from './config.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createLogger } from './logger.ts';

/**
 * A server of its own, since this test stops it: the run's shared cluster serves every
 * other test file.
 */
describe('a database outage', () => {
  let dir: string;
  let port: number;
  let server: EmbeddedPostgresHandle;
  let pool: Pool;
  let app: HttpServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sm2ca-outage-'));
    port = await freePort();
    server = await startEmbeddedPostgres({ dir, port });
    pool = await connectPool(server.url, { max: 4 });
    app = await createHttpServer({
      service: 'test',
      log: createLogger('test', { level: 'silent' }),
      timeouts: loadConfig({}).http,
      title: 'outage',
      readiness: pool,
    });
    app.get('/answer', { config: { access: 'public' } }, async () => {
      const { rows } = await pool.query('SELECT 42 AS answer');
      return rows[0];
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 503 DATABASE_UNAVAILABLE and not ready while the database is down, then recovers by itself', async () => {
    expect((await app.inject('/answer')).json()).toEqual({ answer: 42 });
    // Checked out across the outage: its connection dying must not take the process down.
    const held = await pool.connect();
    await server.stop();

    const during = await app.inject('/answer');
    expect(during.statusCode).toBe(503);
    expect(during.json().error.code).toBe('DATABASE_UNAVAILABLE');
    expect((await app.inject('/health/ready')).statusCode).toBe(503);
    expect((await app.inject('/health/live')).statusCode).toBe(200);
    const heldQuery = await held.query('SELECT 1').catch((err: unknown) => err);
    expect(heldQuery).toBeInstanceOf(Error);
    held.release(heldQuery as Error);

    server = await startEmbeddedPostgres({ dir, port });
    expect((await app.inject('/health/ready')).statusCode).toBe(200);
    const after = await app.inject('/answer');
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ answer: 42 });
  });
});
