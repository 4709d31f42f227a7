import { randomBytes } from 'node:crypto';
import { encodeSm2EnvelopedKey } from '@sm2ca/gm';
import { buildCsr } from '@sm2ca/pki';
import smCrypto from 'sm-crypto';
import { SmCryptoSigner } from '../../../../test/support/sm-crypto-signer.ts';

export interface StandInKmKey {
  /** A request for the key, signed by it, for the stand-in CA's OpenSSL issuer. */
  csr: Buffer;
  /** SM2EnvelopedKey DER to the holder's signature key. */
  envelopedKey: Buffer;
  privateKeyHex: string;
  publicKeyHex: string;
}

/**
 * What the KM hands the CA in a dual issuance, made by sm-crypto for the RA's tests: a fresh
 * SM2 key pair and its private key enveloped (GM/T 0009) to the holder's signature key — an
 * SM4 key SM2-encrypted to the holder, the private scalar under that key (SM4-ECB, no padding).
 */
export async function standInKmKey(holderPublicKey: Uint8Array, commonName: string): Promise<StandInKmKey> {
  const { privateKey, publicKey } = smCrypto.sm2.generateKeyPairHex();
  const csr = await buildCsr(
    { subject: [{ type: 'CN', value: commonName }], publicKey: Buffer.from(publicKey, 'hex') },
    new SmCryptoSigner(privateKey, publicKey),
  );
  const sm4Key = randomBytes(16);
  const holderHex = Buffer.from(holderPublicKey).toString('hex');
  const encryptedSymmetricKey = Buffer.from(
    `04${smCrypto.sm2.doEncrypt(Array.from(sm4Key), holderHex, 1)}`,
    'hex',
  );
  const encryptedPrivateKey = Buffer.from(
    smCrypto.sm4.encrypt(
      Array.from(Buffer.from(privateKey.padStart(64, '0'), 'hex')),
      sm4Key.toString('hex'),
      {
        padding: 'none',
        output: 'array',
      },
    ) as number[],
  );
  const envelopedKey = encodeSm2EnvelopedKey({
    encryptedSymmetricKey,
    publicKey: Buffer.from(publicKey, 'hex'),
    encryptedPrivateKey,
  });
  return {
    csr: Buffer.from(csr),
    envelopedKey: Buffer.from(envelopedKey),
    privateKeyHex: privateKey,
    publicKeyHex: publicKey,
  };
}
