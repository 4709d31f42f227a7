import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TotpSeal } from './totp-seal.ts';

describe('TotpSeal', () => {
  const home = mkdtempSync(join(tmpdir(), 'totp-seal-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('opens what it sealed for the same operator, under the key file it made once', () => {
    const seal = TotpSeal.fromHome(home);
    const file = join(home, 'secrets', 'totp-seal.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readFileSync(file);
    const secret = randomBytes(20);
    const sealed = seal.seal('7', secret);
    expect(sealed.includes(secret)).toBe(false);
    expect(TotpSeal.fromHome(home).open('7', sealed)).toEqual(secret);
    expect(readFileSync(file)).toEqual(key);
  });

  it('refuses a sealed secret moved to another operator, edited, cut short or under another key', () => {
    const seal = TotpSeal.fromHome(home);
    const sealed = seal.seal('7', randomBytes(20));
    const edited = Buffer.from(sealed);
    edited[20] = (edited[20] ?? 0) ^ 1;
    const broken = { code: 'TOTP_SEAL_BROKEN' };
    expect(() => seal.open('8', sealed)).toThrow(expect.objectContaining(broken));
    expect(() => seal.open('7', edited)).toThrow(expect.objectContaining(broken));
    expect(() => seal.open('7', sealed.subarray(0, 40))).toThrow(expect.objectContaining(broken));
    expect(() => new TotpSeal(randomBytes(32)).open('7', sealed)).toThrow(expect.objectContaining(broken));
  });

  it('takes the key as hex or base64 text, the same key either way, and refuses one under 32 bytes', () => {
    const key = randomBytes(32);
    const secret = randomBytes(20);
    const sealed = TotpSeal.fromText(key.toString('hex')).seal('7', secret);
    expect(TotpSeal.fromText(key.toString('base64')).open('7', sealed)).toEqual(secret);
    expect(() => TotpSeal.fromText(randomBytes(16).toString('hex'))).toThrow(
      expect.objectContaining({ code: 'TOTP_SEAL_KEY_SHORT' }),
    );
  });
});
