import { describe, expect, it } from 'vitest';
import { ConfigError } from './app-error.ts';
import { loadConfig } from './config.ts';
import { openDatabase } from './database.ts';
import { createLogger } from './logger.ts';

describe('openDatabase', () => {
  it('fails at start-up naming DATABASE_URL when it cannot connect, without the password', async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://ca:s3cret@127.0.0.1:1/sm2ca' });
    const error = await openDatabase(config, createLogger('test', { level: 'silent' })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^DATABASE_URL: cannot connect to postgres:\/\/ca:\*\*\*@127\.0\.0\.1:1\/sm2ca/,
    );
    expect((error as Error).message).not.toContain('s3cret');
  });
});
