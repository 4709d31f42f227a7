import { createHash } from 'node:crypto';
import { DEFAULT_SM2_ID, sm2E } from '@sm2ca/gm';

/** GM/T 0009 default signer ID. */
export const defaultSignerId = Buffer.from(DEFAULT_SM2_ID);

/**
 * What a raw-sign mechanism signs: e = SM3(Z ‖ M) for SM2, SHA-256(M) for ECDSA P-256. Hashing on the
 * host is safe; only the private-key operation has to stay in the device. Only SM2 needs the public
 * key (for Z), so it is fetched only then.
 */
export function hostSignInput(
  algorithm: 'sm2' | 'ecdsa-p256',
  publicPoint: () => Uint8Array,
  signerId: Uint8Array,
  data: Uint8Array,
): Buffer {
  if (algorithm === 'ecdsa-p256') return createHash('sha256').update(data).digest();
  return Buffer.from(sm2E(publicPoint(), data, signerId));
}

export function hostDigest(algorithm: 'sm2' | 'ecdsa-p256', data: Uint8Array): Buffer {
  return createHash(algorithm === 'sm2' ? 'sm3' : 'sha256')
    .update(data)
    .digest();
}
