import { readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openssl, opensslSm2Key, tempDir } from '../../../test/support/openssl-cli.ts';
import { opensslEncryptedKey } from '../../../test/support/openssl-encrypted-key.ts';
import { decryptSm2PrivateKey, isEncryptedPrivateKey } from './encrypted-private-key.ts';

const derOf = (pemPath: string) =>
  new Uint8Array(openssl(['asn1parse', '-in', pemPath, '-noout', '-out', '-']));

describe('decryptSm2PrivateKey', () => {
  const dir = tempDir('gm-encrypted-key-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const key = opensslSm2Key(dir);

  for (const prf of ['sm3', 'sha256'] as const) {
    it(`opens an OpenSSL PBES2 / PBKDF2-HMAC-${prf.toUpperCase()} / SM4-CBC key, and only with its passphrase`, async () => {
      const path = opensslEncryptedKey(dir, key.keyPath, '口令 passphrase', prf);
      expect(readFileSync(path, 'latin1')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
      const der = derOf(path);
      expect(isEncryptedPrivateKey(der)).toBe(true);
      expect(Buffer.from(await decryptSm2PrivateKey(der, '口令 passphrase')).toString('hex')).toBe(
        key.privateKeyHex,
      );
      await expect(decryptSm2PrivateKey(der, 'not the passphrase')).rejects.toMatchObject({
        code: 'PRIVATE_KEY_PASSPHRASE_WRONG',
      });
    });
  }

  it('tells a plain key from an encrypted one, and names what it cannot open', async () => {
    expect(
      isEncryptedPrivateKey(new Uint8Array(openssl(['pkey', '-in', key.keyPath, '-outform', 'DER']))),
    ).toBe(false);
    const des = derOf(
      (() => {
        const out = `${dir}/des.pem`;
        openssl(['pkcs8', '-topk8', '-v2', 'des3', '-in', key.keyPath, '-passout', 'pass:x', '-out', out]);
        return out;
      })(),
    );
    await expect(decryptSm2PrivateKey(des, 'x')).rejects.toMatchObject({
      code: 'PRIVATE_KEY_ENCRYPTION_UNSUPPORTED',
    });
    await expect(decryptSm2PrivateKey(new Uint8Array([0x30, 0x00]), 'x')).rejects.toMatchObject({
      code: 'PRIVATE_KEY_MALFORMED',
    });
  });
});
