import { AsnSerializer } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { openssl, opensslSm2Key, tempDir } from '../../../test/support/openssl-cli.ts';
import { fromHex, toHex } from './bytes.ts';
import { GM_OIDS } from './oids.ts';
import { decodeSm2Spki, encodeSm2Spki } from './sm2-spki.ts';

const P256_SPKI = fromHex(
  '3059301306072a8648ce3d020106082a8648ce3d030107034200046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a1' +
    '3945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5',
);

function spkiWith(algorithm: string, parameters: ArrayBuffer | undefined, key: Uint8Array): Uint8Array {
  const spki = new SubjectPublicKeyInfo({
    algorithm: new AlgorithmIdentifier({ algorithm, parameters }),
    subjectPublicKey: new Uint8Array(key).buffer,
  });
  return new Uint8Array(AsnSerializer.serialize(spki));
}

describe('SM2 SubjectPublicKeyInfo', () => {
  const key = opensslSm2Key(tempDir());

  it('emits exactly what OpenSSL emits and reads it back', () => {
    expect(toHex(encodeSm2Spki(key.publicKey))).toBe(toHex(key.spki));
    expect(decodeSm2Spki(key.spki)).toEqual(key.publicKey);
    const text = new TextDecoder().decode(
      openssl(['pkey', '-pubin', '-inform', 'DER', '-text', '-noout'], undefined, key.spki),
    );
    expect(text).toContain('ASN1 OID: SM2');
  });

  it('accepts the SM2 OID as algorithm with absent, NULL or SM2-curve parameters', () => {
    for (const params of [undefined, null, fromHex('06082a811ccf5501822d')]) {
      const der = spkiWith(
        GM_OIDS.sm2,
        params === null ? new Uint8Array([5, 0]).buffer : params?.slice().buffer,
        key.publicKey,
      );
      expect(decodeSm2Spki(der)).toEqual(key.publicKey);
    }
  });

  it('rejects other curves, other algorithms and bad keys with distinct codes', () => {
    expect(() => decodeSm2Spki(P256_SPKI)).toThrow(
      expect.objectContaining({ code: 'SPKI_UNSUPPORTED_CURVE' }),
    );
    const rsa = spkiWith('1.2.840.113549.1.1.1', new Uint8Array([5, 0]).buffer, key.publicKey);
    expect(() => decodeSm2Spki(rsa)).toThrow(expect.objectContaining({ code: 'SPKI_UNSUPPORTED_ALGORITHM' }));
    const badSpki = key.spki.slice();
    badSpki[badSpki.length - 1]! ^= 1;
    expect(() => decodeSm2Spki(badSpki)).toThrow(expect.objectContaining({ code: 'SPKI_MALFORMED' }));
    expect(() => decodeSm2Spki(key.spki.subarray(1))).toThrow(
      expect.objectContaining({ code: 'SPKI_MALFORMED' }),
    );
  });
});
