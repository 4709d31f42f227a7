import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import smCrypto from 'sm-crypto';
import { describe, expect, it } from 'vitest';
import { openssl, opensslSm2Key, tempDir } from '../../../test/support/openssl-cli.ts';
import { bigintToBytes, concatBytes, fromHex, toHex } from './bytes.ts';
import { GmError } from './gm-error.ts';
import { decodeSm2Ciphertext, encodeSm2Ciphertext } from './sm2-ciphertext.ts';
import { SM2_CURVE } from './sm2-curve.ts';

// GB/T 32918.5 annex A key with k = 59276E27…BC21, plaintext "encryption standard" (as in emmansun/gmsm).
const PRIVATE = '3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8';
const PUBLISHED =
  '307c022004ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73022100e858f9d81e5430a57b36daab8f950a' +
  '3c64e6ee6a63094d99283aff767e124df0042059983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766041321' +
  '886ca989ca9c7d58087307ca93092d651efa';

const decrypt = (raw: Uint8Array, key: string) =>
  smCrypto.sm2.doDecrypt(toHex(raw).slice(2), key, 1, { output: 'array' }) as unknown as number[];

describe('SM2 ciphertext DER', () => {
  it('decodes the published vector to C1‖C3‖C2 that sm-crypto decrypts', () => {
    const raw = decodeSm2Ciphertext(fromHex(PUBLISHED));
    expect(raw.length).toBe(97 + 19);
    expect(Buffer.from(decrypt(raw, PRIVATE)).toString()).toBe('encryption standard');
    expect(toHex(encodeSm2Ciphertext(raw))).toBe(PUBLISHED);
  });

  it('round-trips sm-crypto ciphertexts', () => {
    const { publicKey, privateKey } = smCrypto.sm2.generateKeyPairHex();
    const raw = fromHex(`04${smCrypto.sm2.doEncrypt([1, 2, 3], publicKey, 1)}`);
    const back = decodeSm2Ciphertext(encodeSm2Ciphertext(raw));
    expect(back).toEqual(raw);
    expect(decrypt(back, privateKey)).toEqual([1, 2, 3]);
  });

  it('left-pads a C1 coordinate whose INTEGER is shorter than 32 bytes', () => {
    const c1 = pointWithShortX();
    const raw = concatBytes(c1, new Uint8Array(32).fill(7), new Uint8Array([9]));
    const der = encodeSm2Ciphertext(raw);
    expect(der[3]).toBe(31);
    expect(decodeSm2Ciphertext(der)).toEqual(raw);
  });

  it('interoperates with OpenSSL pkeyutl in both directions', () => {
    const dir = tempDir();
    const key = opensslSm2Key(dir);
    writeFileSync(join(dir, 'm'), 'hello sm2');
    const fromOpenssl = openssl(['pkeyutl', '-encrypt', '-inkey', key.keyPath, '-in', join(dir, 'm')]);
    expect(Buffer.from(decrypt(decodeSm2Ciphertext(fromOpenssl), key.privateKeyHex)).toString()).toBe(
      'hello sm2',
    );

    const raw = fromHex(`04${smCrypto.sm2.doEncrypt('to openssl', toHex(key.publicKey), 1)}`);
    writeFileSync(join(dir, 'ct'), encodeSm2Ciphertext(raw));
    const plain = openssl(['pkeyutl', '-decrypt', '-inkey', key.keyPath, '-in', join(dir, 'ct')]);
    expect(Buffer.from(plain).toString()).toBe('to openssl');
  });

  it('rejects malformed encodings with SM2_CIPHERTEXT_MALFORMED', () => {
    const raw = decodeSm2Ciphertext(fromHex(PUBLISHED));
    const offCurve = raw.slice();
    offCurve[40]! ^= 1;
    const bad = [
      fromHex(PUBLISHED).subarray(0, 50),
      encodeSm2Ciphertext(offCurve),
      fromHex('3000'),
      new Uint8Array(),
    ];
    for (const der of bad) {
      expect(() => decodeSm2Ciphertext(der)).toThrow(
        expect.objectContaining({ code: 'SM2_CIPHERTEXT_MALFORMED' }),
      );
    }
    expect(() => encodeSm2Ciphertext(raw.subarray(0, 96))).toThrow(GmError);
  });
});

/** Walks 2G, 3G, … (affine addition) to a point whose X encodes as a 31-byte INTEGER. */
function pointWithShortX(): Uint8Array {
  const { p, a, gx, gy } = SM2_CURVE;
  const inv = (v: bigint) => {
    let [a, b, x0, x1] = [((v % p) + p) % p, p, 1n, 0n];
    while (b) [a, b, x0, x1] = [b, a % b, x1, x0 - (a / b) * x1];
    return ((x0 % p) + p) % p;
  };
  const d = ((3n * gx * gx + a) * inv(2n * gy)) % p;
  let x = (((d * d - 2n * gx) % p) + p) % p;
  let y = (((d * (gx - x) - gy) % p) + p) % p;
  while (x >> 247n !== 0n) {
    const l = ((y - gy) * inv(x - gx)) % p;
    const nx = (((l * l - x - gx) % p) + p) % p;
    [x, y] = [nx, (((l * (gx - nx) - gy) % p) + p) % p];
  }
  return concatBytes(new Uint8Array([4]), bigintToBytes(x, 32), bigintToBytes(y, 32));
}
