import { AsnParser } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import type { PartsSigner, Signer, Verifier } from '@sm2ca/pki';
import smCrypto from 'sm-crypto';

// sm-crypto, an SM2 implementation independent of ours and of OpenSSL. It reads strings as
// UTF-8 text, so binary data goes in as number[]; without a userId it signs and verifies under
// the GM/T 0009 default ID.

/** sm-crypto's DER SM2-with-SM3 signature of `message`; `publicKeyHex` (04‖X‖Y) spares it deriving the point. */
export function smCryptoSign(
  message: Uint8Array,
  privateKeyHex: string,
  options: { userId?: string; publicKeyHex?: string } = {},
): Buffer {
  const hex = smCrypto.sm2.doSignature(Array.from(message), privateKeyHex, {
    hash: true,
    der: true,
    publicKey: options.publicKeyHex,
    userId: options.userId,
  });
  return Buffer.from(hex, 'hex');
}

/** Whether sm-crypto accepts the DER SM2-with-SM3 `signature` of `message` by the point `publicKeyHex` (04‖X‖Y). */
export function smCryptoVerifies(
  message: Uint8Array,
  signature: Uint8Array,
  publicKeyHex: string,
  userId?: string,
): boolean {
  return smCrypto.sm2.doVerifySignature(
    Array.from(message),
    Buffer.from(signature).toString('hex'),
    publicKeyHex,
    { hash: true, der: true, userId },
  );
}

/** Test-only SM2-with-SM3 signer under the GM/T 0009 default ID. */
export class SmCryptoSigner implements Signer, PartsSigner {
  constructor(
    private readonly privateKeyHex: string,
    private readonly publicKeyHex: string,
    /** Another ID than the default only to show what OpenSSL 3.0 (empty ID) would accept. */
    private readonly userId = '1234567812345678',
  ) {}

  async sign(data: Uint8Array): Promise<Uint8Array> {
    return smCryptoSign(data, this.privateKeyHex, { userId: this.userId, publicKeyHex: this.publicKeyHex });
  }

  async signParts(parts: readonly Uint8Array[]): Promise<Uint8Array> {
    return this.sign(Buffer.concat(parts));
  }
}

export const smCryptoVerifier: Verifier = {
  async verify(spki, data, signature) {
    const info = AsnParser.parse(spki, SubjectPublicKeyInfo);
    return smCryptoVerifies(data, signature, Buffer.from(info.subjectPublicKey).toString('hex'));
  },
};
