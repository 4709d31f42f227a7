import { describe, expect, it } from 'vitest';
import { decodeIdentityExtensions, identityExtensions } from './identity-extensions.ts';
import { OIDS } from './oids.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ascii = (s: string) => Buffer.from(s).toString('hex');

describe('GM/T 0015 identity extensions', () => {
  it('encode IdentifyCode with explicit tags and the numbers as PrintableString, non-critical', () => {
    const exts = identityExtensions({
      identifyCode: { type: 'passport', value: 'E12345678' },
      unifiedSocialCreditCode: '91350100M000100Y43',
    });
    expect(exts.map((e) => [e.oid, e.critical])).toEqual([
      [OIDS.identifyCode, false],
      [OIDS.unifiedSocialCreditCode, false],
    ]);
    expect(hex(exts[0]!.value)).toBe(`a20b1309${ascii('E12345678')}`);
    expect(hex(exts[1]!.value)).toBe(`1312${ascii('91350100M000100Y43')}`);
    expect(decodeIdentityExtensions(exts)).toEqual({
      identifyCode: { type: 'passport', value: 'E12345678' },
      unifiedSocialCreditCode: '91350100M000100Y43',
    });
  });

  it('accept implicitly tagged IdentifyCode and a UTF8 military officer number', () => {
    const implicitId = {
      oid: OIDS.identifyCode,
      critical: false,
      value: Buffer.from(`8012${ascii('11010519491231002X')}`, 'hex'),
    };
    expect(decodeIdentityExtensions([implicitId]).identifyCode).toEqual({
      type: 'residentCard',
      value: '11010519491231002X',
    });
    const officer = identityExtensions({
      identifyCode: { type: 'militaryOfficerCard', value: '军字第001号' },
    });
    expect(decodeIdentityExtensions(officer).identifyCode).toEqual({
      type: 'militaryOfficerCard',
      value: '军字第001号',
    });
  });

  it('reject values of the wrong type or charset', () => {
    const utf8Tax = { oid: OIDS.taxationNumber, critical: false, value: Uint8Array.of(0x0c, 0x01, 0x41) };
    expect(() => decodeIdentityExtensions([utf8Tax])).toThrow(
      expect.objectContaining({ code: 'IDENTITY_EXTENSION_MALFORMED' }),
    );
    const badChoice = {
      oid: OIDS.identifyCode,
      critical: false,
      value: Uint8Array.of(0xa5, 0x03, 0x13, 0x01, 0x41),
    };
    expect(() => decodeIdentityExtensions([badChoice])).toThrow(
      expect.objectContaining({ code: 'IDENTITY_EXTENSION_MALFORMED' }),
    );
    expect(() => identityExtensions({ organizationCode: '组织' })).toThrow(
      expect.objectContaining({ code: 'IDENTITY_INVALID' }),
    );
  });
});
