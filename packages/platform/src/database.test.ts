import { describe, expect, inject, it } from 'vitest';
import { AppError, ConfigError } from './app-error.ts';
import { loadConfig } from './config.ts';
import { openDatabase } from './database.ts';
import { createLogger } from './logger.ts';

const silent = createLogger('test', { level: 'silent' });

describe('openDatabase', () => {
  it('fails with DATABASE_UNAVAILABLE, not a config error, when nothing answers; without the password', async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://ca:s3cret@127.0.0.1:1/sm2ca' });
    const error = await openDatabase(config, silent).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).not.toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
    expect((error as Error).message).toMatch(
      /^DATABASE_URL: cannot connect to postgres:\/\/ca:\*\*\*@127\.0\.0\.1:1\/sm2ca/,
    );
    expect((error as Error).message).not.toContain('s3cret');
  });

  it('fails naming DATABASE_URL when the server answers but refuses the credentials', async () => {
    const url = new URL(inject('adminDatabaseUrl'));
    url.password = 'not-the-password';
    const error = await openDatabase(loadConfig({ DATABASE_URL: url.toString() }), silent).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', details: { setting: 'DATABASE_URL' } });
    expect((error as Error).message).not.toContain('not-the-password');
  });
});
