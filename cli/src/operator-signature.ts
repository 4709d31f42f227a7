import { readFileSync } from 'node:fs';
import { decodeSm2PrivateKey } from '@sm2ca/gm';
import { pemOrDerToDer } from '@sm2ca/pki';
import smCrypto from 'sm-crypto';

/** The GM/T 0009 default signer ID, which the RA verifies login challenges under. */
const GM_DEFAULT_ID = '1234567812345678';

/**
 * Signs `message` with the operator's own SM2 key file (PEM or DER, PKCS#8 or SEC1): SM2 with SM3
 * under the GM default ID, DER. The operator's key is theirs, not the CA's, so it never goes near
 * the crypto device; sm-crypto signs because node:crypto cannot sign under the GM default ID.
 */
export function signWithKeyFile(keyFile: string, message: Uint8Array): Buffer {
  const scalar = decodeSm2PrivateKey(pemOrDerToDer(new Uint8Array(readFileSync(keyFile))));
  const signature = smCrypto.sm2.doSignature(Array.from(message), Buffer.from(scalar).toString('hex'), {
    hash: true,
    der: true,
    userId: GM_DEFAULT_ID,
  });
  return Buffer.from(signature, 'hex');
}
