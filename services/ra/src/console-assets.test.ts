import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createHttpServer,
  createLogger,
  type HttpServer,
  loadConfig,
  registerAccessControl,
} from '@sm2ca/platform';
import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/support/test-database.ts';
import { registerConsoleAssets } from './console-assets.ts';

describe('console assets', () => {
  const db = useTestDatabase();
  const root = mkdtempSync(join(tmpdir(), 'console-build-'));
  const apps: HttpServer[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    rmSync(root, { recursive: true, force: true });
  });

  async function serve(dir: string) {
    const app = await createHttpServer({
      service: 'ra',
      log: createLogger('test', { level: 'silent' }),
      timeouts: loadConfig({}).http,
      title: 'console test',
    });
    registerAccessControl(app, db.pool);
    await registerConsoleAssets(app, dir);
    apps.push(app);
    return app;
  }

  it('answers the page for any console path, never cached, under a same-origin policy', async () => {
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><div id="app"></div>');
    writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
    const app = await serve(root);
    const page = await app.inject({ url: '/console/review' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const asset = await app.inject({ url: '/console/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ url: '/console' })).headers.location).toBe('/console/');
  });

  it('does not serve files outside the build', async () => {
    const app = await serve(root);
    const escaped = await app.inject({ url: '/console/assets/..%2f..%2fpackage.json' });
    expect(escaped.body).toContain('<div id="app">');
  });

  it('says the console was not built rather than failing the RA', async () => {
    const app = await serve(join(root, 'missing'));
    const res = await app.inject({ url: '/console/' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('CONSOLE_NOT_BUILT');
  });
});
