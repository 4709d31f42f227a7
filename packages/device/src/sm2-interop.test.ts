import { createDecipheriv, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSm2Ciphertext, encodeSm2Ciphertext } from '@sm2ca/gm';
import smCrypto from 'sm-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslVerifiesSm2Signature, tempDir } from '../../../test/support/openssl-cli.ts';
import { smCryptoSign, smCryptoVerifies } from '../../../test/support/sm-crypto-signer.ts';
import { type Device, openDevice } from './device.ts';
import { decodeSpki, encodeSpki } from './spki.ts';
import { hsmSim, tokenConfig } from './test-tokens.ts';

const { sm2 } = smCrypto;
const sm2Curve = '1.2.156.10197.1.301';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

// sm-crypto speaks raw C1‖C3‖C2 hex without the 04 prefix; the device speaks GM/T 0009 DER.
const derToC1C3C2 = (der: Uint8Array) => hex(decodeSm2Ciphertext(der).subarray(1));
const c1c3c2ToDer = (raw: string) => encodeSm2Ciphertext(Buffer.from(`04${raw}`, 'hex'));

function pem(spki: Uint8Array): string {
  const body = Buffer.from(spki).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`;
}

describe.skipIf(!hsmSim.available)('SM2/SM3/SM4 interoperability through hsm-sim', () => {
  let device: Device;
  let spki: Uint8Array;
  let publicHex: string;
  const message = Buffer.from('GM/T 0009 interop message');

  beforeAll(async () => {
    await hsmSim.createTokens(['interop'], '87654321', '12345678');
    device = await openDevice(tokenConfig(hsmSim, 'interop', '12345678'));
    spki = await device.generateKeyPair({ label: 'ca', token: false, decrypt: true });
    publicHex = hex(decodeSpki(spki, sm2Curve));
  });
  afterAll(async () => {
    await device?.close();
  });

  it('makes signatures OpenSSL verifies under the default signer ID', async () => {
    const dir = tempDir('device-openssl-');
    writeFileSync(join(dir, 'pub.pem'), pem(spki));
    writeFileSync(join(dir, 'msg'), message);
    writeFileSync(join(dir, 'sig'), await device.sign('ca', message));
    expect(opensslVerifiesSm2Signature(dir, 'pub.pem', 'sig', 'msg')).toBe(true);
  });

  it('makes signatures sm-crypto verifies, with the default and with a given signer ID', async () => {
    const byDefault = await device.sign('ca', message);
    expect(smCryptoVerifies(message, byDefault, publicHex)).toBe(true);
    const byAlice = await device.sign('ca', message, { signerId: 'alice@example.cn' });
    expect(smCryptoVerifies(message, byAlice, publicHex, 'alice@example.cn')).toBe(true);
    expect(smCryptoVerifies(message, byAlice, publicHex)).toBe(false);
    expect(smCryptoVerifies(message, device.signSync('ca', message), publicHex)).toBe(true);
  });

  it('computes e on the host for devices that only sign raw digests', async () => {
    const hostSide = await openDevice({
      ...tokenConfig(hsmSim, 'interop', '12345678'),
      quirks: { signMode: 'host' },
    });
    try {
      const hostSpki = await hostSide.generateKeyPair({ label: 'raw-signer' });
      const hostHex = hex(decodeSpki(hostSpki, sm2Curve));
      const byDefault = await hostSide.sign('raw-signer', message);
      expect(smCryptoVerifies(message, byDefault, hostHex)).toBe(true);
      const byBob = hostSide.signSync('raw-signer', message, { signerId: 'bob' });
      expect(smCryptoVerifies(message, byBob, hostHex, 'bob')).toBe(true);
      expect(await device.verify(hostSpki, message, byBob, { signerId: 'bob' })).toBe(true);
    } finally {
      await hostSide.close();
    }
  });

  it('verifies signatures made by sm-crypto', async () => {
    const keys = sm2.generateKeyPairHex();
    const theirs = encodeSpki(sm2Curve, Buffer.from(keys.publicKey, 'hex'));
    const signature = smCryptoSign(message, keys.privateKey);
    expect(await device.verify(theirs, message, signature)).toBe(true);
    expect(await device.verify(theirs, Buffer.from('other'), signature)).toBe(false);
  });

  it('encrypts for sm-crypto and decrypts what sm-crypto encrypted', async () => {
    const keys = sm2.generateKeyPairHex();
    const plaintext = Buffer.from('SM2 envelope payload, longer than one SM3 block of KDF output.');
    const toThem = await device.encrypt(encodeSpki(sm2Curve, Buffer.from(keys.publicKey, 'hex')), plaintext);
    const decrypted = sm2.doDecrypt(derToC1C3C2(toThem), keys.privateKey, 1, { output: 'array' });
    expect(Buffer.from(decrypted).equals(plaintext)).toBe(true);
    const toUs = sm2.doEncrypt(Array.from(plaintext), publicHex, 1);
    expect(Buffer.from(await device.decrypt('ca', c1c3c2ToDer(toUs))).equals(plaintext)).toBe(true);
  });

  it('computes SM3 like node:crypto', async () => {
    for (const data of [Buffer.alloc(0), Buffer.from('abc'), Buffer.alloc(1000, 7)]) {
      expect(hex(await device.digest(data))).toBe(createHash('sm3').update(data).digest('hex'));
    }
  });

  it('envelopes an SM2 private key: SM4-ECB under an SM4 key that is SM2-encrypted to the holder', async () => {
    const holder = sm2.generateKeyPairHex();
    const issued = await device.generateKeyPair({ label: 'escrow', token: false, extractable: true });
    await device.generateSecretKey({ label: 'sm4', token: false, extractable: true });
    const wrappedPrivate = await device.wrapPrivateKey('sm4', 'escrow');
    const wrappedSm4 = await device.wrapSecretKey(
      encodeSpki(sm2Curve, Buffer.from(holder.publicKey, 'hex')),
      'sm4',
    );
    const sm4Key = Buffer.from(
      sm2.doDecrypt(derToC1C3C2(wrappedSm4), holder.privateKey, 1, { output: 'array' }),
    );
    expect(sm4Key.length).toBe(16);
    const decipher = createDecipheriv('sm4-ecb', sm4Key, null).setAutoPadding(false);
    const scalar = Buffer.concat([decipher.update(wrappedPrivate), decipher.final()]).subarray(0, 32);
    const iv = Buffer.alloc(16, 9);
    const cbc = await device.secretEncrypt('sm4', message.subarray(0, 16), iv);
    const cbcDecipher = createDecipheriv('sm4-cbc', sm4Key, iv).setAutoPadding(false);
    expect(
      Buffer.concat([cbcDecipher.update(cbc), cbcDecipher.final()]).equals(message.subarray(0, 16)),
    ).toBe(true);
    // The recovered scalar is the issued private key exactly when its signatures verify under the issued SPKI.
    const signature = smCryptoSign(message, scalar.toString('hex'));
    expect(await device.verify(issued, message, signature)).toBe(true);
  });

  it('unwraps an SM4 key with an SM2 private key and an SM2 private key with that SM4 key', async () => {
    const recipient = await device.generateKeyPair({ label: 'km', token: false, decrypt: true });
    const issued = await device.generateKeyPair({
      label: 'user-enc',
      token: false,
      extractable: true,
      decrypt: true,
    });
    await device.generateSecretKey({ label: 'transport', token: false, extractable: true });
    const wrappedKey = await device.wrapPrivateKey('transport', 'user-enc');
    const wrappedSm4 = await device.wrapSecretKey(recipient, 'transport');
    await device.unwrapSecretKey('km', wrappedSm4, { label: 'transport-copy', token: false });
    await device.unwrapPrivateKey('transport-copy', wrappedKey, {
      label: 'user-enc-copy',
      token: false,
      decrypt: true,
    });
    const plaintext = Buffer.from('decrypted by the restored key');
    const ciphertext = await device.encrypt(issued, plaintext);
    expect(Buffer.from(await device.decrypt('user-enc-copy', ciphertext)).equals(plaintext)).toBe(true);
  });
});
