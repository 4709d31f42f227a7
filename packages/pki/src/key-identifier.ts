import { createHash } from 'node:crypto';

/**
 * RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value (without tag, length
 * and unused-bits octet), i.e. of the 65-byte 04‖X‖Y for SM2. Used for SKI and the AKI keyIdentifier.
 */
export function keyIdentifier(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(publicKey).digest());
}
