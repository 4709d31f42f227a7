import { describe, expect, it } from 'vitest';
import { SigningRateLimit } from './signing-rate-limit.ts';

describe('SigningRateLimit', () => {
  it('gives each client its burst, then its rate, whatever the others do', () => {
    let nowMs = 1_000_000;
    const limit = new SigningRateLimit({ perSecond: 2, burst: 3 }, () => nowMs);
    const take = (client: string, count: number) => Array.from({ length: count }, () => limit.take(client));
    expect(take('a', 4)).toEqual([true, true, true, false]);
    expect(take('b', 3)).toEqual([true, true, true]);
    nowMs += 250;
    expect(take('a', 1)).toEqual([false]);
    nowMs += 250;
    expect(take('a', 2)).toEqual([true, false]);
    nowMs += 60_000;
    expect(take('a', 4)).toEqual([true, true, true, false]);
    // A clock stepping back refills nothing and takes nothing away.
    nowMs -= 10_000;
    expect(take('a', 1)).toEqual([false]);
  });

  it('forgets the clients seen least recently beyond 10,000', () => {
    const limit = new SigningRateLimit({ perSecond: 1, burst: 1 }, () => 0);
    expect(limit.take('first')).toBe(true);
    expect(limit.take('first')).toBe(false);
    for (let i = 0; i < 10_000; i++) limit.take(`client-${i}`);
    expect(limit.clients).toBe(10_000);
    expect(limit.take('client-9999')).toBe(false);
    // Forgotten, so it starts again with a full bucket.
    expect(limit.take('first')).toBe(true);
  });
});
