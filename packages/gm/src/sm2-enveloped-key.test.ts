import smCrypto from 'sm-crypto';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.ts';
import { GM_OIDS } from './oids.ts';
import { decodeSm2EnvelopedKey, encodeSm2EnvelopedKey } from './sm2-enveloped-key.ts';

describe('SM2EnvelopedKey', () => {
  it('round-trips a key enveloped as the KM would: SM4-ECB private key, SM4 key SM2-encrypted to the holder', () => {
    const holder = smCrypto.sm2.generateKeyPairHex();
    const enveloped = smCrypto.sm2.generateKeyPairHex();
    const sm4Key = '0123456789abcdeffedcba9876543210';
    const scalar = Array.from(fromHex(enveloped.privateKey.padStart(64, '0')));
    const encryptedPrivateKey = smCrypto.sm4.encrypt(scalar, sm4Key, { padding: 'none', output: 'array' });
    const der = encodeSm2EnvelopedKey({
      encryptedSymmetricKey: fromHex(`04${smCrypto.sm2.doEncrypt(fromHex(sm4Key), holder.publicKey, 1)}`),
      publicKey: fromHex(enveloped.publicKey),
      encryptedPrivateKey: new Uint8Array(encryptedPrivateKey),
    });

    const parsed = decodeSm2EnvelopedKey(der);
    expect(parsed.symmetricAlgorithm).toBe(GM_OIDS.sm4Ecb);
    expect(toHex(parsed.publicKey)).toBe(enveloped.publicKey);
    const c1c3c2 = toHex(parsed.encryptedSymmetricKey).slice(2);
    const recoveredSm4 = smCrypto.sm2.doDecrypt(c1c3c2, holder.privateKey, 1, {
      output: 'array',
    }) as unknown as number[];
    expect(toHex(new Uint8Array(recoveredSm4))).toBe(sm4Key);
    const decrypted = smCrypto.sm4.decrypt(Array.from(parsed.encryptedPrivateKey), sm4Key, {
      padding: 'none',
      output: 'array',
    });
    expect(decrypted).toEqual(scalar);
  });

  it('rejects malformed input with SM2_ENVELOPED_KEY_MALFORMED', () => {
    for (const der of [new Uint8Array(), fromHex('3000'), fromHex('300a06082a811ccf55016801')]) {
      expect(() => decodeSm2EnvelopedKey(der)).toThrow(
        expect.objectContaining({ code: 'SM2_ENVELOPED_KEY_MALFORMED' }),
      );
    }
  });
});
