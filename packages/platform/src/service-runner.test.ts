import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '@sm2ca/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '../../../test/support/child-env.ts';
import { freePort } from '../../../test/support/free-port.ts';

const platform = new URL('./index.ts', import.meta.url).href;

/** The smallest service runService can run: one route that needs the database. */
const serviceScript = `
  const { createHttpServer, runService } = await import(${JSON.stringify(platform)});
  await runService({
    name: 'ra',
    needsDevice: false,
    build: async ({ config, db, log }) => {
      const app = await createHttpServer({ service: 'test', log, timeouts: config.http, title: 'waits', readiness: db.pool });
      app.get('/answer', { config: { access: 'public' } }, async () => {
        const { rows } = await db.pool.query('SELECT 42 AS answer');
        return rows[0];
      });
      return app;
    },
  });
`;

async function poll<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Its own PostgreSQL, since the test keeps it down for a while. */
describe('a service started while its database is down', () => {
  let dir: string;
  let pgPort: number;
  let server: EmbeddedPostgresHandle | undefined;
  let url: string;
  let service: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sm2ca-wait-'));
    pgPort = await freePort();
    server = await startEmbeddedPostgres({ dir: join(dir, 'pg'), port: pgPort });
    url = server.url;
    await server.stop();
    server = undefined;
  });
  afterAll(async () => {
    if (service && service.exitCode === null) {
      const exited = new Promise((r) => service!.once('exit', r));
      service.kill('SIGTERM');
      await exited;
    }
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('stays alive and not ready, then becomes ready when the database comes up', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    service = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', serviceScript], {
      env: childEnv({
        DATABASE_URL: url,
        SM2CA_HOME: join(dir, 'home'),
        SM2CA_RA_HOST: '127.0.0.1',
        SM2CA_RA_PORT: String(port),
        LOG_LEVEL: 'warn',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    service.stdout!.on('data', (d) => {
      output += d;
    });
    service.stderr!.on('data', (d) => {
      output += d;
    });

    await poll('/health/live', async () => ((await fetch(`${base}/health/live`)).ok ? true : undefined));
    expect((await fetch(`${base}/health/ready`)).status).toBe(503);
    const waiting = await fetch(`${base}/answer`);
    expect(waiting.status).toBe(503);
    expect(((await waiting.json()) as { error: { code: string } }).error.code).toBe('DATABASE_UNAVAILABLE');
    await poll('a second attempt', async () =>
      (output.match(/trying again/g) ?? []).length >= 2 ? true : undefined,
    );
    expect(service.exitCode).toBeNull();
    expect(output).not.toContain('CONFIG_INVALID');

    server = await startEmbeddedPostgres({ dir: join(dir, 'pg'), port: pgPort });
    await poll('/health/ready', async () => ((await fetch(`${base}/health/ready`)).ok ? true : undefined));
    const answer = await fetch(`${base}/answer`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ answer: 42 });
  }, 90_000);
});
