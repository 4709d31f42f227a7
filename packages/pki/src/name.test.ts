import { describe, expect, it } from 'vitest';
import { decodeName, encodeName, nameToString } from './name.ts';

describe('Name', () => {
  it('writes C and serialNumber as PrintableString, the rest as UTF8String, in the order given', () => {
    const der = encodeName([
      { type: 'C', value: 'CN' },
      { type: 'ST', value: '北京市' },
      { type: 'O', value: '某某局' },
      { type: 'serialNumber', value: '110105' },
      { type: 'CN', value: '张三' },
    ]);
    expect(decodeName(der).map((a) => [a.type, a.stringType])).toEqual([
      ['C', 'printableString'],
      ['ST', 'utf8String'],
      ['O', 'utf8String'],
      ['serialNumber', 'printableString'],
      ['CN', 'utf8String'],
    ]);
    expect(nameToString(der)).toBe('C=CN, ST=北京市, O=某某局, serialNumber=110105, CN=张三');
  });

  it('refuses values the string type cannot carry', () => {
    expect(() => encodeName([{ type: 'C', value: 'China' }])).toThrow(
      expect.objectContaining({ code: 'DN_INVALID' }),
    );
    expect(() => encodeName([{ type: 'serialNumber', value: '编号' }])).toThrow(
      expect.objectContaining({ code: 'DN_INVALID' }),
    );
    expect(() => decodeName(Uint8Array.of(0x31, 0x00))).toThrow(
      expect.objectContaining({ code: 'DN_MALFORMED' }),
    );
  });
});
