import { describe, expect, it } from 'vitest';
import { toHex } from './bytes.ts';
import { sm3 } from './sm3.ts';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('sm3', () => {
  it('matches the GB/T 32905 example 1 ("abc")', () => {
    expect(toHex(sm3(ascii('abc')))).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  });

  it('matches the GB/T 32905 example 2 ("abcd" x 16), also when fed in parts', () => {
    const expected = 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732';
    expect(toHex(sm3(ascii('abcd'.repeat(16))))).toBe(expected);
    expect(toHex(sm3(ascii('abcd'.repeat(10)), ascii('abcd'.repeat(6))))).toBe(expected);
  });
});
