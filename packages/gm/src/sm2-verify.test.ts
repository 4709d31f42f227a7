import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import smCrypto from 'sm-crypto';
import { describe, expect, it } from 'vitest';
import { gmDistId, openssl, opensslSm2Key, tempDir } from '../../../test/support/openssl-cli.ts';
import { smCryptoSign } from '../../../test/support/sm-crypto-signer.ts';
import { fromHex, toHex } from './bytes.ts';
import { GmError } from './gm-error.ts';
import { encodeSm2Spki } from './sm2-spki.ts';
import { verifySm2 } from './sm2-verify.ts';

const PUBLIC = fromHex(
  '0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020' +
    'ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13',
);
const PUBLISHED_SIG = fromHex(
  '3046022100f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3' +
    '022100b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa',
);
const MESSAGE = new TextEncoder().encode('message digest');

describe('verifySm2', () => {
  it('accepts the published GB/T 32918.5 signature with a raw key or an SPKI', () => {
    expect(verifySm2(PUBLIC, MESSAGE, PUBLISHED_SIG)).toBe(true);
    expect(verifySm2(encodeSm2Spki(PUBLIC), MESSAGE, PUBLISHED_SIG)).toBe(true);
  });

  it('rejects another message, another ID and a malformed signature', () => {
    expect(verifySm2(PUBLIC, new TextEncoder().encode('message digesT'), PUBLISHED_SIG)).toBe(false);
    expect(verifySm2(PUBLIC, MESSAGE, PUBLISHED_SIG, new Uint8Array())).toBe(false);
    expect(verifySm2(PUBLIC, MESSAGE, PUBLISHED_SIG.subarray(0, 40))).toBe(false);
  });

  it('verifies sm-crypto signatures, and only under the ID they were made with', () => {
    const { privateKey, publicKey } = smCrypto.sm2.generateKeyPairHex();
    const data = new Uint8Array([0, 1, 2, 250]);
    const sig = smCryptoSign(data, privateKey);
    expect(verifySm2(fromHex(publicKey), data, sig)).toBe(true);
    const emptyId = smCryptoSign(data, privateKey, { userId: '' });
    expect(verifySm2(fromHex(publicKey), data, emptyId)).toBe(false);
    expect(verifySm2(fromHex(publicKey), data, emptyId, new Uint8Array())).toBe(true);
  });

  it('verifies OpenSSL signatures made with distid:1234567812345678', () => {
    const dir = tempDir();
    const key = opensslSm2Key(dir);
    writeFileSync(join(dir, 'data'), 'signed by openssl');
    const sig = openssl(['dgst', '-sm3', '-sign', key.keyPath, '-sigopt', gmDistId, join(dir, 'data')]);
    expect(verifySm2(key.spki, new TextEncoder().encode('signed by openssl'), sig)).toBe(true);
    expect(toHex(key.publicKey)).toHaveLength(130);
  });

  it('throws GmError for a key that is not SM2', () => {
    expect(() => verifySm2(new Uint8Array(65), MESSAGE, PUBLISHED_SIG)).toThrow(GmError);
  });
});
