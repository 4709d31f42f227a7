import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.ts';
import { GmError } from './gm-error.ts';
import { decodeSm2Signature, encodeSm2Signature } from './sm2-signature.ts';

const R = fromHex('f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3');
const S = fromHex('b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa');

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof GmError ? err.code : 'not a GmError';
  }
  return undefined;
}

describe('SM2 signature DER', () => {
  it('encodes high-bit values with a leading zero and round-trips', () => {
    const der = encodeSm2Signature({ r: R, s: S });
    expect(toHex(der)).toBe(`3046022100${toHex(R)}022100${toHex(S)}`);
    expect(decodeSm2Signature(der)).toEqual({ r: R, s: S });
  });

  it('left-pads short INTEGERs to 32 bytes', () => {
    const r = new Uint8Array(32);
    r[31] = 1;
    const s = new Uint8Array(32);
    s.set([0x12, 0x34], 30);
    const der = encodeSm2Signature({ r, s });
    expect(toHex(der)).toBe('300702010102021234');
    expect(decodeSm2Signature(der)).toEqual({ r, s });
  });

  it.each([
    ['negative r', '3006020180020101'],
    ['zero s', '3006020101020100'],
    ['33-byte magnitude', `3026022101${'00'.repeat(32)}020101`],
    ['non-minimal INTEGER', '300702020001020101'],
    ['trailing bytes', '300602010102010100'],
    ['wrong outer tag', '3106020101020101'],
    ['truncated', '30060201010201'],
    ['OCTET STRING instead of INTEGER', '3006040101020101'],
  ])('rejects %s', (_name, hex) => {
    expect(code(() => decodeSm2Signature(fromHex(hex)))).toBe('SM2_SIGNATURE_MALFORMED');
  });

  it('refuses to encode values that are not 32 bytes', () => {
    expect(code(() => encodeSm2Signature({ r: R.subarray(1), s: S }))).toBe('SM2_SIGNATURE_INVALID');
  });
});
