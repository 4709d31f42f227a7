import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './app-error.ts';
import { loadConfig } from './config.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tempDir(prefix = 'sm2ca-config-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function failure(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives working defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.services.ra.port).toBe(8080);
    expect(config.services.ca.host).toBe('127.0.0.1');
    expect(config.device.vendor).toBe('hsm-sim');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.home).toMatch(/\/var$/);
    expect(config.http).toEqual({ headersTimeoutSeconds: 10, requestTimeoutSeconds: 30 });
  });

  it('takes typed values from the environment', () => {
    const config = loadConfig({ SM2CA_RA_PORT: '9000', SM2CA_HOME: '/tmp/x', LOG_LEVEL: 'debug' });
    expect(config.services.ra.port).toBe(9000);
    expect(config.home).toBe('/tmp/x');
    expect(config.logLevel).toBe('debug');
  });

  it('takes a yes-or-no setting as true or false only', () => {
    expect(loadConfig({}).ca.allowHolderEncryptionKeys).toBe(false);
    expect(loadConfig({ SM2CA_ALLOW_HOLDER_ENCRYPTION_KEYS: 'true' }).ca.allowHolderEncryptionKeys).toBe(
      true,
    );
    expect(failure({ SM2CA_ALLOW_HOLDER_ENCRYPTION_KEYS: 'yes' }).message).toMatch(
      /^SM2CA_ALLOW_HOLDER_ENCRYPTION_KEYS: /,
    );
  });

  it('names the variable of a non-numeric port in one line', () => {
    const error = failure({ SM2CA_RA_PORT: 'eighty' });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^SM2CA_RA_PORT: /);
    expect(error.message).toContain('"eighty"');
    expect(error.message).not.toContain('\n');
  });

  it('refuses out-of-range ports and unknown vendors', () => {
    expect(failure({ SM2CA_OCSP_PORT: '70000' }).message).toMatch(/^SM2CA_OCSP_PORT: /);
    expect(failure({ SM2CA_DEVICE_VENDOR: 'acme' }).message).toMatch(/^SM2CA_DEVICE_VENDOR: /);
    expect(failure({ DATABASE_URL: 'mysql://x' }).message).toMatch(/^DATABASE_URL: /);
  });

  it('never repeats a secret in its message', () => {
    const error = failure({ SM2CA_DEVICE_PIN: '12' });
    expect(error.message).toMatch(/^SM2CA_DEVICE_PIN: /);
    expect(error.message).not.toContain('"12"');
  });

  it('takes the login timings, with today’s defaults, and the TOTP seal key without echoing it', () => {
    expect(loadConfig({}).login).toEqual({
      challengeSeconds: 120,
      sessionMinutes: 15,
      maxFailures: 5,
      lockoutSeconds: 60,
      maxLockoutSeconds: 3600,
      challengesPerMinute: 30,
    });
    const key = 'ab'.repeat(32);
    const config = loadConfig({ SM2CA_LOGIN_SESSION_MINUTES: '30', SM2CA_TOTP_SEAL_KEY: key });
    expect(config.login.sessionMinutes).toBe(30);
    expect(config.login.totpSealKey).toBe(key);
    const short = failure({ SM2CA_TOTP_SEAL_KEY: 'abcdef0123' });
    expect(short.message).toMatch(/^SM2CA_TOTP_SEAL_KEY: /);
    expect(short.message).not.toContain('abcdef0123');
    expect(
      failure({ SM2CA_LOGIN_LOCKOUT_SECONDS: '600', SM2CA_LOGIN_MAX_LOCKOUT_SECONDS: '60' }).message,
    ).toMatch(/^SM2CA_LOGIN_MAX_LOCKOUT_SECONDS: must be at least the first lockout of 600 s/);
  });

  it('keeps digit-only strings as strings, from the environment and from the file', async () => {
    expect(loadConfig({ SM2CA_DEVICE_PIN: '12345678', SM2CA_TOKEN_LABEL: '0042' }).device).toMatchObject({
      pin: '12345678',
      tokenLabel: '0042',
    });
    const dir = await tempDir();
    const file = join(dir, 'config.json');
    await writeFile(
      file,
      JSON.stringify({ device: { pin: '12345678', soPin: '87654321' }, ca: { name: '2026' } }),
    );
    const config = loadConfig({ SM2CA_CONFIG: file });
    expect(config.device.pin).toBe('12345678');
    expect(config.device.soPin).toBe('87654321');
    expect(config.ca.name).toBe('2026');
  });

  it('lists the allowed values of a bad enum setting', () => {
    expect(failure({ LOG_LEVEL: 'loud' }).message).toMatch(
      /^LOG_LEVEL: .*one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)$/,
    );
    expect(failure({ SM2CA_DEVICE_VENDOR: 'acme' }).message).toMatch(
      /^SM2CA_DEVICE_VENDOR: .*one of hsm-sim, sansec, tass, softhsm/,
    );
  });

  it('resolves the default home from the installation and a given one from the working directory', async () => {
    const installation = fileURLToPath(new URL('../../../', import.meta.url));
    const elsewhere = await tempDir('sm2ca-cwd-');
    const cwd = process.cwd();
    process.chdir(elsewhere);
    try {
      expect(loadConfig({}).home).toBe(join(installation, 'var'));
      expect(loadConfig({ SM2CA_HOME: 'mine' }).home).toBe(join(elsewhere, 'mine'));
      const dir = await tempDir();
      await writeFile(join(dir, 'config.json'), JSON.stringify({ home: 'data' }));
      expect(loadConfig({ SM2CA_CONFIG: join(dir, 'config.json') }).home).toBe(join(dir, 'data'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('gives the root CA 3650 days and the issuing CA 1826 by default, within the 3653 relying parties accept', () => {
    expect(loadConfig({}).ca).toMatchObject({ rootDays: 3650, issuingDays: 1826 });
    expect(loadConfig({ SM2CA_ROOT_CA_DAYS: '3653', SM2CA_ISSUING_CA_DAYS: '1' }).ca).toMatchObject({
      rootDays: 3653,
      issuingDays: 1,
    });
    expect(failure({ SM2CA_ROOT_CA_DAYS: '3654' }).message).toMatch(
      /^SM2CA_ROOT_CA_DAYS: .*3653.*\(got 3654\)$/,
    );
    expect(failure({ SM2CA_ROOT_CA_DAYS: '0' }).message).toMatch(/^SM2CA_ROOT_CA_DAYS: /);
    expect(failure({ SM2CA_ISSUING_CA_DAYS: '0' }).message).toMatch(/^SM2CA_ISSUING_CA_DAYS: /);
  });

  it('refuses an issuing CA that would live as long as the root or longer', async () => {
    for (const env of [
      { SM2CA_ISSUING_CA_DAYS: '3650' },
      { SM2CA_ROOT_CA_DAYS: '1000', SM2CA_ISSUING_CA_DAYS: '1001' },
    ]) {
      const error = failure(env);
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.message).toMatch(
        /^SM2CA_ISSUING_CA_DAYS: must be fewer than the root CA's \d+ days \(SM2CA_ROOT_CA_DAYS\)/,
      );
    }
    const dir = await tempDir();
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ ca: { rootDays: 365, issuingDays: 400 } }));
    expect(failure({ SM2CA_CONFIG: file }).message).toMatch(
      /^ca\.issuingDays \(config file; env SM2CA_ISSUING_CA_DAYS\): must be fewer than the root CA's 365 days .*\(got 400\)$/,
    );
  });

  it('reads a JSON config file, with the environment taking precedence', async () => {
    const dir = await tempDir();
    const file = join(dir, 'config.json');
    await writeFile(
      file,
      JSON.stringify({ services: { ra: { port: 7000 }, ca: { port: 7001 } }, logLevel: 'warn' }),
    );
    const config = loadConfig({ SM2CA_CONFIG: file, SM2CA_CA_PORT: '7100' });
    expect(config.services.ra.port).toBe(7000);
    expect(config.services.ca.port).toBe(7100);
    expect(config.services.ca.host).toBe('127.0.0.1');
    expect(config.logLevel).toBe('warn');
  });

  it('names the file setting when a bad value comes from the file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ services: { crl: { port: 'x' } } }));
    expect(failure({ SM2CA_CONFIG: file }).message).toMatch(
      /^services\.crl\.port \(config file; env SM2CA_CRL_PORT\): /,
    );
  });

  it('reports an unreadable or malformed config file', async () => {
    expect(failure({ SM2CA_CONFIG: '/nonexistent/sm2ca.json' }).message).toMatch(
      /^SM2CA_CONFIG: cannot read/,
    );
    const dir = await tempDir();
    const file = join(dir, 'config.json');
    await writeFile(file, '{ not json');
    expect(failure({ SM2CA_CONFIG: file }).message).toMatch(/^SM2CA_CONFIG: .* is not a JSON object/);
  });
});
