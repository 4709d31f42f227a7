import { bytesToBigint } from './bytes.ts';
import { GmError } from './gm-error.ts';
import { SM2_CURVE } from './sm2-curve.ts';

/**
 * Accepts only the uncompressed form 04‖X‖Y of a point on the SM2 curve: certificates and the
 * device both use it, and an off-curve point would make every later verification meaningless.
 */
export function assertSm2PublicKey(publicKey: Uint8Array): void {
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) {
    throw new GmError('SM2_PUBLIC_KEY_INVALID', 'SM2 public key must be 65 bytes 04||X||Y');
  }
  const { p, a, b } = SM2_CURVE;
  const x = bytesToBigint(publicKey.subarray(1, 33));
  const y = bytesToBigint(publicKey.subarray(33, 65));
  if (x >= p || y >= p || (y * y - (x * x * x + a * x + b)) % p !== 0n) {
    throw new GmError('SM2_PUBLIC_KEY_INVALID', 'SM2 public key is not a point on the SM2 curve');
  }
}
