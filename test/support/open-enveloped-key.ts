import { decodeSm2EnvelopedKey } from '@sm2ca/gm';
import smCrypto from 'sm-crypto';

const hex = (bytes: Uint8Array | number[]) => Buffer.from(bytes).toString('hex');

// @types/sm-crypto lags the library: it lacks getPublicKeyFromPrivateKey, types doDecrypt's 'array'
// output as a string and sm4's mode as 'cbc' only.
const sm2 = smCrypto.sm2 as typeof smCrypto.sm2 & {
  getPublicKeyFromPrivateKey(privateKeyHex: string): string;
};
const sm4Decrypt = smCrypto.sm4.decrypt as unknown as (
  data: string,
  key: string,
  options: { mode: 'ecb'; padding: 'none'; output: 'array' },
) => number[];

/**
 * Opens a GM/T 0009 SM2EnvelopedKey the way a holder's own tools would, with sm-crypto (an SM2/SM4
 * implementation independent of ours, of OpenSSL and of the device): SM2-decrypt the SM4 key with the
 * holder's private key, SM4-ECB-decrypt the private scalar with it (no padding). Throws unless the
 * scalar's public key is the one the envelope names.
 */
export function openEnvelopedKey(
  envelopeDer: Uint8Array,
  holderPrivateKeyHex: string,
): { privateKeyHex: string; publicKeyHex: string } {
  const envelope = decodeSm2EnvelopedKey(envelopeDer);
  // sm-crypto takes C1‖C3‖C2 as hex without C1's 04 prefix; cipherMode 1 is C1C3C2.
  const ciphertext = hex(envelope.encryptedSymmetricKey.subarray(1));
  const options = { output: 'array' } as const;
  const symmetricKey = sm2.doDecrypt(ciphertext, holderPrivateKeyHex, 1, options) as unknown as number[];
  // doDecrypt answers a failed C3 check with an empty result rather than an error.
  if (symmetricKey.length !== 16) throw new Error('the SM4 key does not decrypt with this private key');
  // A string input to sm4.decrypt is read as hex and the key as hex; output 'array' keeps it binary.
  const scalar = sm4Decrypt(hex(envelope.encryptedPrivateKey), hex(symmetricKey), {
    mode: 'ecb',
    padding: 'none',
    output: 'array',
  });
  if (scalar.length !== 32) throw new Error(`the private key is ${scalar.length} bytes, not 32`);
  const privateKeyHex = hex(scalar);
  const publicKeyHex = sm2.getPublicKeyFromPrivateKey(privateKeyHex);
  if (publicKeyHex !== hex(envelope.publicKey)) {
    throw new Error("the enveloped private key does not match the envelope's public key");
  }
  return { privateKeyHex, publicKeyHex };
}
