import { AsnParser } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import type { Signer, Verifier } from '@sm2ca/pki';
import smCrypto from 'sm-crypto';

/**
 * Test-only SM2-with-SM3 signer/verifier under the GM/T 0009 default ID (sm-crypto's default).
 * sm-crypto reads strings as UTF-8 text, so binary data goes in as number[].
 */
export class SmCryptoSigner implements Signer {
  constructor(
    private readonly privateKeyHex: string,
    private readonly publicKeyHex: string,
    /** Another ID than the default only to show what OpenSSL 3.0 (empty ID) would accept. */
    private readonly userId = '1234567812345678',
  ) {}

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const hex = smCrypto.sm2.doSignature(Array.from(data), this.privateKeyHex, {
      hash: true,
      der: true,
      publicKey: this.publicKeyHex,
      userId: this.userId,
    });
    return Buffer.from(hex, 'hex');
  }
}

export const smCryptoVerifier: Verifier = {
  async verify(spki, data, signature) {
    const info = AsnParser.parse(spki, SubjectPublicKeyInfo);
    const publicKeyHex = Buffer.from(info.subjectPublicKey).toString('hex');
    return smCrypto.sm2.doVerifySignature(
      Array.from(data),
      Buffer.from(signature).toString('hex'),
      publicKeyHex,
      {
        hash: true,
        der: true,
      },
    );
  },
};
