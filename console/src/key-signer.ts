import { decodeSm2PrivateKey } from '@sm2ca/gm/sm2-private-key';
import smCrypto from 'sm-crypto';

/** The GM/T 0009 default signer ID: the RA verifies login challenges under it. */
const GM_DEFAULT_ID = '1234567812345678';

function derOf(file: Uint8Array): Uint8Array {
  const text = new TextDecoder('latin1').decode(file);
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!match) return file;
  return Uint8Array.from(atob((match[2] ?? '').replace(/\s+/g, '')), (c) => c.charCodeAt(0));
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * Signs the RA's login challenge with the operator's own SM2 key file, here in the browser: the key
 * is read from the file the operator picked and never leaves this page. SM2 with SM3 under the GM
 * default ID, DER, base64 — what `sm2ca login` sends.
 */
export function signChallenge(keyFile: Uint8Array, challenge: string): string {
  const scalar = decodeSm2PrivateKey(derOf(keyFile));
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
