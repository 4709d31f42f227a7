import { createHash } from 'node:crypto';

/** GM/T 0009 default signer ID. */
export const defaultSignerId = Buffer.from('1234567812345678', 'ascii');

// GM/T 0003.5 curve parameters a, b, xG, yG: the fixed part of Z.
const sm2CurveForZ = Buffer.from(
  'FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC' +
    '28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93' +
    '32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7' +
    'BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0',
  'hex',
);

/** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) for the uncompressed public point 04‖xA‖yA. */
export function sm2Z(point: Uint8Array, signerId: Uint8Array): Buffer {
  const entl = Buffer.alloc(2);
  entl.writeUInt16BE(signerId.length * 8);
  return createHash('sm3')
    .update(entl)
    .update(signerId)
    .update(sm2CurveForZ)
    .update(point.subarray(1))
    .digest();
}

/**
 * What a raw-sign mechanism signs: e = SM3(Z ‖ M) for SM2, SHA-256(M) for ECDSA P-256. Hashing on the
 * host is safe; only the private-key operation has to stay in the device.
 */
export function hostSignInput(
  algorithm: 'sm2' | 'ecdsa-p256',
  point: Uint8Array,
  signerId: Uint8Array,
  data: Uint8Array,
): Buffer {
  if (algorithm === 'ecdsa-p256') return createHash('sha256').update(data).digest();
  return createHash('sm3').update(sm2Z(point, signerId)).update(data).digest();
}

export function hostDigest(algorithm: 'sm2' | 'ecdsa-p256', data: Uint8Array): Buffer {
  return createHash(algorithm === 'sm2' ? 'sm3' : 'sha256')
    .update(data)
    .digest();
}
