import { execFile } from 'node:child_process';
import { chown, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/free-port.ts';
import { sm2caCli } from '../../test/support/sm2ca-stack.ts';

const bin = new URL('../bin/sm2ca.js', import.meta.url).pathname;

const sm2ca = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  sm2caCli(args, { PATH: process.env.PATH, HOME: process.env.HOME, ...env });

describe('sm2ca CLI', () => {
  it('lists its subcommands', async () => {
    const result = await sm2ca(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('start');
    expect(result.stdout).toContain('migrate');
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
        env: {
          PATH: process.env.PATH,
          HOME: home,
          SM2CA_HOME: join(home, 'var'),
          SM2CA_PG_PORT: String(await freePort()),
        },
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
