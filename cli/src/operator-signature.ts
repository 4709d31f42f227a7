import { readFileSync } from 'node:fs';
import { decodeSm2PrivateKey, decryptSm2PrivateKey, isEncryptedPrivateKey } from '@sm2ca/gm';
import { pemOrDerToDer } from '@sm2ca/pki';
import smCrypto from 'sm-crypto';
import { promptSecret } from './secret-prompt.ts';

/** The GM/T 0009 default signer ID, which the RA verifies login challenges under. */
const GM_DEFAULT_ID = '1234567812345678';

/**
 * The scalar of a key file; an encrypted PKCS#8 file is opened with SM2CA_KEY_PASSPHRASE or, when
 * that is not set, a passphrase asked on the terminal.
 */
async function keyFileScalar(keyFile: string): Promise<Uint8Array> {
  const der = pemOrDerToDer(new Uint8Array(readFileSync(keyFile)));
  if (!isEncryptedPrivateKey(der)) return decodeSm2PrivateKey(der);
  const passphrase = process.env.SM2CA_KEY_PASSPHRASE ?? (await promptSecret(`passphrase of ${keyFile}`));
  return decryptSm2PrivateKey(der, passphrase);
}

/**
 * Signs `message` with the operator's own SM2 key file (PEM or DER, PKCS#8, encrypted PKCS#8 or
 * SEC1): SM2 with SM3 under the GM default ID, DER. The operator's key is theirs, not the CA's, so
 * it never goes near the crypto device; sm-crypto signs because node:crypto cannot sign under the
 * GM default ID.
 */
export async function signWithKeyFile(keyFile: string, message: Uint8Array): Promise<Buffer> {
  const scalar = await keyFileScalar(keyFile);
  const signature = smCrypto.sm2.doSignature(Array.from(message), Buffer.from(scalar).toString('hex'), {
    hash: true,
    der: true,
    userId: GM_DEFAULT_ID,
  });
  return Buffer.from(signature, 'hex');
}
