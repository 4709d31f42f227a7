import { bigintToBytes } from './bytes.ts';
import { GmError } from './gm-error.ts';
import { SM2_CURVE } from './sm2-curve.ts';
import { assertSm2PublicKey } from './sm2-public-key.ts';
import { sm3 } from './sm3.ts';

/** GM/T 0009 default signer ID; OpenSSL 3 and node:crypto use an empty ID instead. */
export const DEFAULT_SM2_ID: Uint8Array = new TextEncoder().encode('1234567812345678');

const CURVE_BYTES = [SM2_CURVE.a, SM2_CURVE.b, SM2_CURVE.gx, SM2_CURVE.gy].map((v) => bigintToBytes(v, 32));

/** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) for a 65-byte public key. */
export function sm2Z(publicKey: Uint8Array, id: Uint8Array = DEFAULT_SM2_ID): Uint8Array {
  assertSm2PublicKey(publicKey);
  const bits = id.length * 8;
  if (bits > 0xffff) throw new GmError('SM2_ID_TOO_LONG', 'SM2 signer ID longer than 8191 bytes');
  const entl = new Uint8Array([bits >> 8, bits & 0xff]);
  return sm3(entl, id, ...CURVE_BYTES, publicKey.subarray(1, 33), publicKey.subarray(33, 65));
}

/** e = SM3(Z ‖ M): the value an SM2 raw-sign mechanism signs. */
export function sm2E(
  publicKey: Uint8Array,
  message: Uint8Array,
  id: Uint8Array = DEFAULT_SM2_ID,
): Uint8Array {
  return sm3(sm2Z(publicKey, id), message);
}
