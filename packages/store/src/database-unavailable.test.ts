import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from './database-unavailable.ts';
import { StoreError } from './store-error.ts';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['refused connection', withCode('ECONNREFUSED')],
    ['reset connection', withCode('ECONNRESET')],
    ['admin_shutdown', withCode('57P01')],
    ['cannot_connect_now', withCode('57P03')],
    ['a primary demoted under its client', withCode('25006')],
    ['a connection exception class 08', withCode('08006')],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a lost connection', new Error('Connection terminated unexpectedly')],
    ['a wrapped cause', new StoreError('X', 'wrapped', { cause: withCode('ECONNREFUSED') })],
    ['every address refused', new AggregateError([withCode('ECONNREFUSED')])],
  ])('says yes to %s', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('23505')],
    ['a bad password', withCode('28P01')],
    ['a missing database', withCode('3D000')],
    ['a plain error', new Error('boom')],
    ['nothing', undefined],
  ])('says no to %s', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});
