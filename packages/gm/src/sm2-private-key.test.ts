import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openssl, opensslSm2Key, tempDir } from '../../../test/support/openssl-cli.ts';
import { decodeSm2PrivateKey } from './sm2-private-key.ts';

describe('decodeSm2PrivateKey', () => {
  const dir = tempDir('gm-private-key-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the scalar of an OpenSSL SM2 key as PKCS#8 and as SEC1', () => {
    for (let i = 0; i < 4; i++) {
      const key = opensslSm2Key(dir, `k${i}.pem`);
      const pkcs8 = openssl(['pkey', '-in', key.keyPath, '-outform', 'DER']);
      const sec1 = openssl(['ec', '-in', key.keyPath, '-outform', 'DER']);
      for (const der of [pkcs8, sec1]) {
        expect(Buffer.from(decodeSm2PrivateKey(new Uint8Array(der))).toString('hex')).toBe(key.privateKeyHex);
      }
    }
  });

  it('refuses what is not an EC private key with a stable code', () => {
    for (const der of [
      new Uint8Array([0x30, 0x00]),
      new Uint8Array([1, 2, 3]),
      new Uint8Array(openssl(['genpkey', '-algorithm', 'ED25519', '-outform', 'DER'])),
    ]) {
      expect(() => decodeSm2PrivateKey(der)).toThrow(
        expect.objectContaining({ code: 'SM2_PRIVATE_KEY_MALFORMED' }),
      );
    }
  });
});
