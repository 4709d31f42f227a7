import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  gmDistId,
  openssl,
  opensslEcKeyFile,
  opensslSm2Key,
  readBytes,
  tempDir,
} from '../../../test/support/openssl-cli.ts';
import { SmCryptoSigner } from '../../../test/support/sm-crypto-signer.ts';
import { buildCsr, parseCsr, verifyCsr } from './csr.ts';
import { decodeKeyUsage, keyUsageExtension } from './extensions.ts';
import { OIDS } from './oids.ts';
import { derToPem, pemOrDerToDer } from './pem.ts';
import { testKey } from './test-support/test-hierarchy.ts';

function opensslCsr(dir: string, keyPath: string, extra: string[] = []): Uint8Array {
  const out = join(dir, 'req.der');
  openssl([
    'req',
    '-new',
    '-key',
    keyPath,
    '-subj',
    '/C=CN/O=数字政府/CN=张三',
    '-utf8',
    '-outform',
    'DER',
    '-out',
    out,
    ...extra,
  ]);
  return readBytes(out);
}

describe('CSR', () => {
  const dir = tempDir();
  const key = opensslSm2Key(dir);

  it('parses and verifies an OpenSSL request signed with distid 1234567812345678', async () => {
    const der = opensslCsr(dir, key.keyPath, [
      '-sm3',
      '-sigopt',
      gmDistId,
      '-addext',
      'keyUsage=critical,digitalSignature',
    ]);
    const csr = await verifyCsr(der);
    expect(csr.publicKey).toEqual(key.publicKey);
    expect(csr.subjectAttributes.map((a) => `${a.type}=${a.value}`)).toEqual([
      'C=CN',
      'O=数字政府',
      'CN=张三',
    ]);
    const ku = csr.extensions.find((e) => e.oid === OIDS.keyUsage)!;
    expect(ku.critical).toBe(true);
    expect([...decodeKeyUsage(ku.value)]).toEqual(['digitalSignature']);
  });

  it('rejects an OpenSSL request signed under the empty ID (no distid) as CSR_BAD_SIGNATURE', async () => {
    const der = opensslCsr(dir, key.keyPath, ['-sm3']);
    const parsed = parseCsr(der);
    expect(parsed.publicKey).toEqual(key.publicKey);
    await expect(verifyCsr(parsed)).rejects.toMatchObject({ code: 'CSR_BAD_SIGNATURE' });
  });

  it('builds requests that OpenSSL verifies with distid and that round-trip', async () => {
    const k = testKey();
    const der = await buildCsr(
      {
        subject: [
          { type: 'C', value: 'CN' },
          { type: 'CN', value: '设备-01' },
        ],
        publicKey: k.publicKey,
        extensions: [keyUsageExtension(['digitalSignature'])],
      },
      k.signer,
    );
    writeFileSync(join(dir, 'ours.pem'), derToPem(der, 'CERTIFICATE REQUEST'));
    const out = openssl([
      'req',
      '-in',
      join(dir, 'ours.pem'),
      '-verify',
      '-vfyopt',
      gmDistId,
      '-noout',
      '-text',
    ]);
    expect(new TextDecoder().decode(out)).toContain('Digital Signature');
    const csr = await verifyCsr(pemOrDerToDer(readBytes(join(dir, 'ours.pem'))));
    expect(csr.publicKey).toEqual(k.publicKey);
    expect(csr.extensions).toHaveLength(1);
  });

  it('rejects ECDSA requests, non-SM2 keys and garbage with their codes', async () => {
    opensslEcKeyFile(dir, 'p256.pem', 'P-256');
    const ecdsa = opensslCsr(dir, join(dir, 'p256.pem'), ['-sha256']);
    expect(() => parseCsr(ecdsa)).toThrow(expect.objectContaining({ code: 'CSR_WRONG_ALGORITHM' }));

    // A P-256 key in a request claiming SM2-with-SM3; both SPKIs are 91 bytes, so a plain swap.
    const k = testKey();
    const good = await buildCsr({ subject: [{ type: 'CN', value: 'x' }], publicKey: k.publicKey }, k.signer);
    const p256Spki = openssl(['pkey', '-in', join(dir, 'p256.pem'), '-pubout', '-outform', 'DER']);
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    const swapped = Buffer.from(hex(good).replace(hex(parseCsr(good).spki), hex(p256Spki)), 'hex');
    expect(swapped).toHaveLength(good.length);
    expect(() => parseCsr(swapped)).toThrow(expect.objectContaining({ code: 'CSR_UNSUPPORTED_CURVE' }));

    expect(() => parseCsr(good.subarray(0, 40))).toThrow(expect.objectContaining({ code: 'CSR_MALFORMED' }));
    const badSig = new SmCryptoSigner(k.privateKeyHex, Buffer.from(k.publicKey).toString('hex'), '');
    const emptyId = await buildCsr({ subject: [{ type: 'CN', value: 'x' }], publicKey: k.publicKey }, badSig);
    await expect(verifyCsr(emptyId)).rejects.toMatchObject({ code: 'CSR_BAD_SIGNATURE' });
  });
});
