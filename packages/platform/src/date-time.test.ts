import { describe, expect, it } from 'vitest';
import { isDateTime, parseDateTime } from './date-time.ts';

describe('RFC 3339 date-time', () => {
  it('accepts UTC and offset times, fractions and lower-case separators', () => {
    for (const text of [
      '2026-01-01T00:00:00Z',
      '2024-02-29T23:59:59.123456+08:00',
      '2026-12-31t12:00:00z',
      '0001-01-01T00:00:00-00:00',
    ]) {
      expect(isDateTime(text), text).toBe(true);
      expect(Number.isNaN(parseDateTime(text).getTime()), text).toBe(false);
    }
    expect(parseDateTime('2026-01-01T08:00:00+08:00').toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('refuses what is not a real instant or not RFC 3339', () => {
    for (const text of [
      '2026-01-01Tgarbage',
      '2026-01-01',
      '2026-01-01 00:00:00Z',
      '2026-01-01T00:00:00',
      '2026-02-29T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:60:00Z',
      '2016-12-31T23:59:60Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00+0800',
      '+02026-01-01T00:00:00Z',
      '2026-01-01T00:00:00Z\n',
    ]) {
      expect(isDateTime(text), text).toBe(false);
    }
  });
});
