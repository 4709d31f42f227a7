import { AsnProp, AsnSerializer, BitString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { decodeOrThrow, parseDer } from './der.ts';
import { GM_OIDS } from './oids.ts';
import { Sm2CipherAsn, sm2CipherAsnFromRaw, sm2CipherAsnToRaw } from './sm2-ciphertext.ts';
import { assertSm2PublicKey } from './sm2-public-key.ts';

/**
 * SM2EnvelopedKey ::= SEQUENCE { symAlgID AlgorithmIdentifier, symEncryptedKey SM2Cipher,
 *   sm2PublicKey BIT STRING, sm2EncryptedPrivateKey BIT STRING }   (GM/T 0009, GB/T 35276)
 */
class Sm2EnvelopedKeyAsn {
  symAlgID = new AlgorithmIdentifier();
  symEncryptedKey = new Sm2CipherAsn();
  sm2PublicKey = new BitString();
  sm2EncryptedPrivateKey = new BitString();
}
AsnProp({ type: AlgorithmIdentifier })(Sm2EnvelopedKeyAsn.prototype, 'symAlgID');
AsnProp({ type: Sm2CipherAsn })(Sm2EnvelopedKeyAsn.prototype, 'symEncryptedKey');
AsnProp({ type: BitString })(Sm2EnvelopedKeyAsn.prototype, 'sm2PublicKey');
AsnProp({ type: BitString })(Sm2EnvelopedKeyAsn.prototype, 'sm2EncryptedPrivateKey');

export interface Sm2EnvelopedKey {
  /** OID of the cipher protecting the private key; SM4-ECB unless stated. */
  symmetricAlgorithm: string;
  /** The symmetric key SM2-encrypted to the holder, raw C1‖C3‖C2. */
  encryptedSymmetricKey: Uint8Array;
  /** The enveloped key pair's public key, 04‖X‖Y. */
  publicKey: Uint8Array;
  /** The private scalar encrypted under the symmetric key. */
  encryptedPrivateKey: Uint8Array;
}

export function encodeSm2EnvelopedKey(
  key: Omit<Sm2EnvelopedKey, 'symmetricAlgorithm'> & { symmetricAlgorithm?: string },
): Uint8Array {
  assertSm2PublicKey(key.publicKey);
  const asn = new Sm2EnvelopedKeyAsn();
  asn.symAlgID = new AlgorithmIdentifier({ algorithm: key.symmetricAlgorithm ?? GM_OIDS.sm4Ecb });
  asn.symEncryptedKey = sm2CipherAsnFromRaw(key.encryptedSymmetricKey);
  asn.sm2PublicKey = new BitString(key.publicKey);
  asn.sm2EncryptedPrivateKey = new BitString(key.encryptedPrivateKey);
  return new Uint8Array(AsnSerializer.serialize(asn));
}

export function decodeSm2EnvelopedKey(der: Uint8Array): Sm2EnvelopedKey {
  return decodeOrThrow('SM2_ENVELOPED_KEY_MALFORMED', 'malformed SM2EnvelopedKey', () => {
    const asn = parseDer(der, Sm2EnvelopedKeyAsn);
    if (asn.sm2PublicKey.unusedBits !== 0 || asn.sm2EncryptedPrivateKey.unusedBits !== 0) {
      throw new Error('BIT STRING with unused bits');
    }
    const publicKey = new Uint8Array(asn.sm2PublicKey.value);
    assertSm2PublicKey(publicKey);
    return {
      symmetricAlgorithm: asn.symAlgID.algorithm,
      encryptedSymmetricKey: sm2CipherAsnToRaw(asn.symEncryptedKey),
      publicKey,
      encryptedPrivateKey: new Uint8Array(asn.sm2EncryptedPrivateKey.value),
    };
  });
}
