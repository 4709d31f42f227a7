import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '../../test/support/child-env.ts';
import { freePort } from '../../test/support/free-port.ts';
import { type Stack, sm2caCli, startStack } from '../../test/support/sm2ca-stack.ts';
import { createTestDatabase } from '../../test/support/test-database.ts';

const bin = new URL('../bin/sm2ca.js', import.meta.url).pathname;

const sm2ca = (args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 0) =>
  sm2caCli(args, childEnv(env), timeoutMs);

describe('sm2ca CLI', () => {
  it('lists its subcommands', async () => {
    const result = await sm2ca(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('start');
    expect(result.stdout).toContain('migrate');
    expect(result.stdout).toContain('km');
  });

  it('stops on a bad setting with one line naming it and a non-zero exit', async () => {
    const result = await sm2ca(['migrate'], { SM2CA_RA_PORT: 'abc' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^sm2ca: SM2CA_RA_PORT: .*"abc"/),
    ]);
  });

  it('stops with one line naming DATABASE_URL when the database cannot be reached', async () => {
    const result = await sm2ca(['migrate'], { DATABASE_URL: 'postgres://u:pw@127.0.0.1:1/x' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^sm2ca: DATABASE_URL: cannot connect/m);
    expect(result.stderr).not.toContain(':pw@');
  });

  it('migrates the embedded database under SM2CA_HOME, then finds it up to date', async () => {
    const env = {
      SM2CA_HOME: await mkdtemp(join(tmpdir(), 'sm2ca-home-')),
      SM2CA_PG_PORT: String(await freePort()),
    };
    const first = await sm2ca(['migrate'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied \d+ migration/);
    const second = await sm2ca(['migrate'], env);
    expect(second.stdout).toMatch(/up to date/);
  });

  // As root it runs PostgreSQL as a `postgres` user; here the same command runs as an ordinary user.
  it.runIf(process.getuid?.() === 0)('runs the embedded database as an unprivileged user', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sm2ca-nobody-'));
    await chown(home, 65534, 65534);
    const { stdout } = await promisify(execFile)(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, 'migrate'],
      {
        env: childEnv({
          HOME: home,
          SM2CA_HOME: join(home, 'var'),
          SM2CA_PG_PORT: String(await freePort()),
        }),
      },
    );
    expect(stdout).toMatch(/applied \d+ migration/);
  });

  it('prints its version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    const result = await sm2ca(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('reports a missing option, an unknown profile and a file that is no certificate in one stderr line', async () => {
    const readme = new URL('../../README.md', import.meta.url).pathname;
    for (const args of [
      ['device', 'keygen'],
      ['lint', readme, '--profile', 'no-such-profile'],
      ['lint', readme],
    ]) {
      const result = await sm2ca(args);
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stdout, args.join(' ')).toBe('');
      expect(result.stderr.trimEnd().split('\n'), args.join(' ')).toEqual([
        expect.stringMatching(/^sm2ca: /),
      ]);
    }
  });

  it('refuses an unknown subcommand', async () => {
    const result = await sm2ca(['frobnicate']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('unknown command');
  });
});

describe('sm2ca device against the CA that init made', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    db = await createTestDatabase();
    env = { DATABASE_URL: db.url, SM2CA_HOME: await mkdtemp(join(tmpdir(), 'sm2ca-device-')) };
    const init = await sm2ca(['init'], env);
    expect(init.stderr).not.toMatch(/^sm2ca: /m);
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
    if (env?.SM2CA_HOME) await rm(env.SM2CA_HOME, { recursive: true, force: true });
  });

  it('refuses a token label init did not create, and creates none', async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await sm2ca(['device', 'info'], { ...env, SM2CA_TOKEN_LABEL: 'typo' });
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(
          /^sm2ca: SM2CA_TOKEN_LABEL: no token labelled "typo"; only `sm2ca init` creates a token/,
        ),
      ]);
    }
    expect((await sm2ca(['device', 'info'], env)).stdout).toContain('token:        sm2ca');
  });

  it('refuses a fresh home instead of creating a token in it', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sm2ca-fresh-'));
    try {
      const result = await sm2ca(['device', 'info'], { SM2CA_HOME: home });
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(/^sm2ca: SM2CA_HOME: no hsm-sim token under .*; `sm2ca init` creates it/),
      ]);
      expect(await readdir(home)).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  // One command per service key, each a process of its own: longer than the default timeout.
  it('never signs with a key of the ceremony nor makes one the ceremony would adopt, and audits each refusal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sm2ca-sign-'));
    try {
      await writeFile(join(dir, 'instruction.json'), '{"operation":"revoke"}');
      for (const label of ['root-ca', 'sub-ca', 'ra', 'km', 'ca-km', 'ocsp-root-1', 'ocsp-sub-1']) {
        const out = join(dir, `${label}.sig`);
        const result = await sm2ca(
          ['device', 'sign', '--label', label, '--in', join(dir, 'instruction.json'), '--out', out],
          env,
        );
        expect(result.code, label).toBe(1);
        expect(result.stderr, label).toMatch(
          /^sm2ca: .*service keys are made by the ceremony and sign only in their own service \[DEVICE_KEY_RESERVED\]$/m,
        );
        expect(existsSync(out), label).toBe(false);
      }
      const keygen = await sm2ca(['device', 'keygen', '--label', 'ocsp-sub-2', '--extractable'], env);
      expect(keygen.code).toBe(1);
      expect(keygen.stdout).toBe('');
      const { rows } = await db.pool.query(
        `SELECT action, count(*)::int AS n FROM audit_log WHERE subject_type = 'device_key' GROUP BY action ORDER BY action`,
      );
      expect(rows).toEqual([
        { action: 'device.keygen.refused', n: 1 },
        { action: 'device.sign.refused', n: 7 },
        { action: 'km.master-key.create', n: 1 },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('km master-key finds the key init made; km status shows the pool, the escrows and the key', async () => {
    const again = await sm2ca(['km', 'master-key'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('the KM master key "km-master" already exists; nothing changed\n');
    const status = await sm2ca(['km', 'status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout.trimEnd().split('\n')).toEqual([
      'pool:       0 keys (refilled below 25 up to 100)',
      'escrows:    current 0, revoked 0, expired 0, archived 0',
      'master key: "km-master" present',
    ]);
    const { rows } = await db.pool.query(
      "SELECT actor, actor_role FROM audit_log WHERE action = 'km.master-key.create'",
    );
    expect(rows).toEqual([{ actor: 'cli', actor_role: 'key_ceremony' }]);
  });
});

describe('a second sm2ca start', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let first: Stack;
  beforeAll(async () => {
    db = await createTestDatabase();
    first = await startStack(db.url, {}, ['crl']);
  }, 120_000);
  afterAll(async () => {
    await first?.stop();
    if (first?.env.SM2CA_HOME) await rm(first.env.SM2CA_HOME, { recursive: true, force: true });
    await db?.drop();
  });

  const oneLine = (result: { stderr: string }) =>
    result.stderr
      .trimEnd()
      .split('\n')
      .filter((line) => !line.startsWith('• '));

  it('on the same home exits at once with one line naming the running one', async () => {
    const second = await sm2ca(['start', '--only', 'crl'], first.env, 60_000);
    expect(second.code).toBe(1);
    expect(oneLine(second)).toEqual([
      expect.stringMatching(/^sm2ca: sm2ca start is already running for .* \(pid \d+\); stop it first/),
    ]);
    expect(second.stderr).not.toContain('all services are up');
  });

  it('on another home but the same ports exits with one line naming the port setting', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sm2ca-second-'));
    try {
      const second = await sm2ca(['start', '--only', 'crl'], { ...first.env, SM2CA_HOME: home }, 60_000);
      expect(second.code).toBe(1);
      expect(oneLine(second)).toEqual([
        expect.stringMatching(/^sm2ca: SM2CA_CRL_PORT: 127\.0\.0\.1:\d+ already in use/),
      ]);
      expect(second.stderr).not.toContain('all services are up');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
