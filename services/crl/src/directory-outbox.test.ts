import { describe, expect, it } from 'vitest';
import { backoffSeconds } from './directory-outbox.ts';

describe('directory outbox back-off', () => {
  it('doubles from one second up to the configured longest wait', () => {
    expect([0, 1, 2, 3, 8, 9, 40].map((n) => backoffSeconds(n, 300))).toEqual([1, 2, 4, 8, 256, 300, 300]);
  });
});
