import smCrypto from 'sm-crypto';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.ts';
import { GmError } from './gm-error.ts';
import { sm2E, sm2Z } from './sm2-z.ts';

// GB/T 32918.5 / GM/T 0003.5 annex A: recommended curve, default ID, message "message digest".
const PRIVATE = '3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8';
const PUBLIC = fromHex(
  '0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020' +
    'ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13',
);
const MESSAGE = new TextEncoder().encode('message digest');

describe('sm2Z / sm2E', () => {
  it('reproduce the published Z and e for the default ID', () => {
    const sm2 = smCrypto.sm2 as typeof smCrypto.sm2 & { getPublicKeyFromPrivateKey(key: string): string };
    expect(sm2.getPublicKeyFromPrivateKey(PRIVATE)).toBe(toHex(PUBLIC));
    expect(toHex(sm2Z(PUBLIC))).toBe('b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3');
    expect(toHex(sm2E(PUBLIC, MESSAGE))).toBe(
      'f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640',
    );
  });

  it('agree with sm-crypto for another ID: its signature over M verifies against our e', () => {
    const id = 'ALICE123@YAHOO.COM';
    const sig = smCrypto.sm2.doSignature(Array.from(MESSAGE), PRIVATE, { hash: true, userId: id });
    const e = sm2E(PUBLIC, MESSAGE, new TextEncoder().encode(id));
    expect(smCrypto.sm2.doVerifySignature(Array.from(e), sig, toHex(PUBLIC), { hash: false })).toBe(true);
  });

  it('reject keys that are not uncompressed SM2 points', () => {
    const offCurve = PUBLIC.slice();
    offCurve[64]! ^= 1;
    for (const key of [PUBLIC.subarray(0, 33), offCurve, new Uint8Array(65)]) {
      expect(() => sm2Z(key)).toThrow(GmError);
    }
  });
});
