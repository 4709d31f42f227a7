import { describe, expect, it } from 'vitest';
import { kmErrorCode, kmErrors } from './km-errors.ts';

describe('KM error numbers', () => {
  it('are the published ones, each once', () => {
    expect(Object.fromEntries(Object.entries(kmErrors).map(([code, { errNo }]) => [code, errNo]))).toEqual({
      MALFORMED: 1,
      SIGNATURE_INVALID: 2,
      STALE: 3,
      REPLAYED: 4,
      CALLER_UNKNOWN: 5,
      CALLER_REVOKED: 6,
      NOT_PERMITTED: 7,
      ALGORITHM_UNSUPPORTED: 8,
      KEY_UNKNOWN: 9,
      KEY_NOT_CURRENT: 10,
      CERT_NO_TAKEN: 11,
      TOO_MANY_REQUESTS: 12,
      INTERNAL: 13,
    });
  });

  it('map back to their codes; unknown numbers to nothing', () => {
    for (const [code, { errNo }] of Object.entries(kmErrors)) expect(kmErrorCode(errNo)).toBe(code);
    expect(kmErrorCode(0)).toBeUndefined();
    expect(kmErrorCode(9999)).toBeUndefined();
  });
});
