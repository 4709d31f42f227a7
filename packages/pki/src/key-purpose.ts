import { createHash } from 'node:crypto';
import { encodeSm2Spki } from '@sm2ca/gm';
import { getProfile, type ProfileId } from './profiles.ts';

/** What a certified key is for: GM/T 0015 keeps signature and encryption key pairs apart. */
export type KeyPurpose = 'signature' | 'encryption';

/** Encryption profiles are the ones whose key usage enciphers; every other end-entity key signs. */
export function keyPurposeOf(profile: ProfileId): KeyPurpose {
  return getProfile(profile).keyUsage.includes('keyEncipherment') ? 'encryption' : 'signature';
}

/**
 * SHA-256 of the key's SubjectPublicKeyInfo DER as the CA encodes it, so one key has one
 * digest whatever encoding its request used. SHA-256 rather than SM3 because PostgreSQL
 * computes it too, which lets a migration index certificates already issued.
 */
export function spkiSha256(publicKey: Uint8Array): Buffer {
  return createHash('sha256').update(encodeSm2Spki(publicKey)).digest();
}
