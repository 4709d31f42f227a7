import { decryptSm2PrivateKey, isEncryptedPrivateKey } from '@sm2ca/gm/encrypted-private-key';
import { decodeSm2PrivateKey } from '@sm2ca/gm/sm2-private-key';
import smCrypto from 'sm-crypto';
import type { MessageKey } from './i18n.ts';

/** The GM/T 0009 default signer ID: the RA verifies login challenges under it. */
const GM_DEFAULT_ID = '1234567812345678';

function derOf(file: Uint8Array): Uint8Array {
  const text = new TextDecoder('latin1').decode(file);
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!match) return file;
  return Uint8Array.from(atob((match[2] ?? '').replace(/\s+/g, '')), (c) => c.charCodeAt(0));
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Why a key file did not open, as a message the login page shows in the operator's language. */
export class KeyFileError extends Error {
  constructor(readonly messageKey: MessageKey) {
    super(messageKey);
  }
}

/**
 * The key's scalar, here in the browser: a passphrase-encrypted PKCS#8 file is opened with the
 * passphrase typed on this page, and neither leaves it.
 */
export async function openKeyFile(keyFile: Uint8Array, passphrase: string): Promise<Uint8Array> {
  const der = derOf(keyFile);
  if (!isEncryptedPrivateKey(der)) return decodeSm2PrivateKey(der);
  if (!passphrase) throw new KeyFileError('keyPassphraseNeeded');
  try {
    return await decryptSm2PrivateKey(der, passphrase);
  } catch (err) {
    if ((err as { code?: string }).code === 'PRIVATE_KEY_PASSPHRASE_WRONG') {
      throw new KeyFileError('keyPassphraseWrong');
    }
    throw err;
  }
}

/**
 * Signs the RA's login challenge with the operator's own SM2 key: SM2 with SM3 under the GM default
 * ID, DER, base64 — what `sm2ca login` sends.
 */
export function signChallenge(scalar: Uint8Array, challenge: string): string {
  const message = Array.from(new TextEncoder().encode(challenge));
  const signature = smCrypto.sm2.doSignature(message, hex(scalar), {
    hash: true,
    der: true,
    userId: GM_DEFAULT_ID,
  });
  return btoa(String.fromCharCode(...(signature.match(/../g) ?? []).map((h) => Number.parseInt(h, 16))));
}

/** The certificate as the RA takes it: PEM text as is, DER as base64. */
export function certificateText(file: Uint8Array): string {
  const text = new TextDecoder('latin1').decode(file);
  return text.includes('-----BEGIN') ? text : btoa(String.fromCharCode(...file));
}
