import { describe, expect, it, vi } from 'vitest';
import { dueKind, nextDueAt, nextUpdateFor, publicationPeriod } from './crl-schedule.ts';
import { Debouncer } from './debouncer.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const settings = {
  intervalMinutes: 60,
  deltaIntervalMinutes: 10,
  debounceSeconds: 2,
  scheduleCheckSeconds: 30,
};
const start = Math.floor(Date.now() / HOUR) * HOUR;
const at = (ms: number) => new Date(start + ms);

describe('CRL schedule', () => {
  it('adds a margin to nextUpdate but never goes past 24 hours', () => {
    const t = at(0);
    expect(nextUpdateFor(t, 1).getTime() - t.getTime()).toBe(6 * MINUTE);
    expect(nextUpdateFor(t, 60).getTime() - t.getTime()).toBe(90 * MINUTE);
    expect(nextUpdateFor(t, 23 * 60).getTime() - t.getTime()).toBe(24 * HOUR);
    expect(nextUpdateFor(t, 1440).getTime() - t.getTime()).toBe(24 * HOUR);
  });

  it('replaces a daily CRL before it expires', () => {
    expect(publicationPeriod(60)).toBe(HOUR);
    expect(publicationPeriod(1440)).toBe(23 * HOUR);
    expect(publicationPeriod(1440)).toBeLessThan(nextUpdateFor(at(0), 1440).getTime() - at(0).getTime());
  });

  it('asks for a full CRL first, then deltas between full ones', () => {
    expect(dueKind({}, at(0), settings)).toBe('full');
    const full = { thisUpdate: at(0), nextUpdate: nextUpdateFor(at(0), 60) };
    const state = { full, lastAny: at(0) };
    expect(dueKind(state, at(9 * MINUTE), settings)).toBeUndefined();
    expect(nextDueAt(state, settings)).toEqual(at(10 * MINUTE));
    expect(dueKind(state, at(10 * MINUTE), settings)).toBe('delta');
    expect(dueKind({ full, lastAny: at(55 * MINUTE) }, at(60 * MINUTE), settings)).toBe('full');
    expect(dueKind(state, at(30 * MINUTE), { ...settings, deltaIntervalMinutes: 60 })).toBeUndefined();
  });

  it('replaces a full CRL before it expires after the cycle was made longer', () => {
    const full = { thisUpdate: at(0), nextUpdate: nextUpdateFor(at(0), 60) };
    const daily = {
      intervalMinutes: 1440,
      deltaIntervalMinutes: 1440,
      debounceSeconds: 2,
      scheduleCheckSeconds: 30,
    };
    expect(nextDueAt({ full }, daily)).toEqual(at(30 * MINUTE));
    expect(dueKind({ full }, at(30 * MINUTE), daily)).toBe('full');
  });
});

describe('Debouncer', () => {
  it('fires once after a quiet period, but no later than the longest wait', () => {
    vi.useFakeTimers();
    try {
      const fired: number[] = [];
      const start = Date.now();
      const debouncer = new Debouncer<string>(40, 100, () => fired.push(Date.now() - start));
      for (let i = 0; i < 8; i++) {
        debouncer.touch('sub');
        vi.advanceTimersByTime(20);
      }
      expect(fired).toEqual([100]);
      vi.advanceTimersByTime(40);
      expect(fired).toEqual([100, 180]);
      debouncer.touch('root');
      debouncer.clear();
      vi.advanceTimersByTime(1000);
      expect(fired).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
