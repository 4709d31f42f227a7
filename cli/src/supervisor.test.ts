import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '../../test/support/child-env.ts';
import { freePort } from '../../test/support/free-port.ts';
import { sm2caCli } from '../../test/support/sm2ca-stack.ts';
import { useTestDatabase } from '../../test/support/test-database.ts';
import { Supervisor } from './supervisor.ts';

describe('Supervisor', () => {
  const db = useTestDatabase();
  let squatter: Server;
  let home: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'sm2ca-supervisor-'));
    const port = await freePort();
    // Another process on the service's port that answers every probe, as a running instance does.
    squatter = createServer((_req, res) => res.end('{"ok":true}'));
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    env = childEnv({
      DATABASE_URL: db.url,
      SM2CA_HOME: home,
      SM2CA_CRL_HOST: '127.0.0.1',
      SM2CA_CRL_PORT: String(port),
      LOG_LEVEL: 'silent',
    });
    expect((await sm2caCli(['init'], env)).code).toBe(0);
  });
  afterAll(async () => {
    await new Promise((resolve) => squatter?.close(resolve));
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('never takes another process on the port for its service, and does not restart one that cannot listen', async () => {
    const supervisor = new Supervisor(loadConfig(env), env);
    try {
      await expect(supervisor.start(['crl'])).rejects.toThrow(
        /^service crl: exited with code 78 during start/,
      );
      expect((await supervisor.failed).message).toMatch(/crl cannot listen on its address/);
    } finally {
      await supervisor.stop();
    }
  });
});
