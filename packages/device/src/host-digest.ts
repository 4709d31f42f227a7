import { createHash } from 'node:crypto';
import { DEFAULT_SM2_ID, sm2Z, sm3 } from '@sm2ca/gm';

/** GM/T 0009 default signer ID. */
export const defaultSignerId = Buffer.from(DEFAULT_SM2_ID);

/**
 * What a raw-sign mechanism signs: e = SM3(Z ‖ M) for SM2, SHA-256(M) for ECDSA P-256, M being the
 * concatenation of `parts`. Hashing on the host is safe; only the private-key operation has to stay
 * in the device. Only SM2 needs the public key (for Z), so it is fetched only then.
 */
export function hostSignInput(
  algorithm: 'sm2' | 'ecdsa-p256',
  publicPoint: () => Uint8Array,
  signerId: Uint8Array,
  parts: readonly Uint8Array[],
): Buffer {
  if (algorithm === 'ecdsa-p256') {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    return hash.digest();
  }
  return Buffer.from(sm3(sm2Z(publicPoint(), signerId), ...parts));
}

export function hostDigest(algorithm: 'sm2' | 'ecdsa-p256', data: Uint8Array): Buffer {
  return createHash(algorithm === 'sm2' ? 'sm3' : 'sha256')
    .update(data)
    .digest();
}
