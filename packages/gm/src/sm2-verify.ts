import smCrypto from 'sm-crypto';
import { toHex } from './bytes.ts';
import { GmError } from './gm-error.ts';
import { decodeSm2Signature } from './sm2-signature.ts';
import { decodeSm2Spki } from './sm2-spki.ts';
import { DEFAULT_SM2_ID, sm2E } from './sm2-z.ts';

/**
 * Verifies an SM2-with-SM3 signature (DER) with a public key only. Node/OpenSSL 3 cannot verify
 * under the GM default ID, so e = SM3(Z ‖ M) is computed here and sm-crypto checks (r, s)
 * against it. `key` is either a 65-byte 04‖X‖Y public key or an SPKI DER.
 * A malformed or wrong signature gives false; an unusable key throws GmError.
 */
export function verifySm2(
  key: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
  id: Uint8Array = DEFAULT_SM2_ID,
): boolean {
  const publicKey = key.length === 65 && key[0] === 0x04 ? key : decodeSm2Spki(key);
  const e = sm2E(publicKey, data, id);
  let rs: string;
  try {
    const { r, s } = decodeSm2Signature(signature);
    rs = toHex(r) + toHex(s);
  } catch (err) {
    if (err instanceof GmError) return false;
    throw err;
  }
  return smCrypto.sm2.doVerifySignature(Array.from(e), rs, toHex(publicKey), { der: false, hash: false });
}
