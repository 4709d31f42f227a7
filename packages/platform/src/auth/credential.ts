import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits: too much entropy to guess, so a plain digest protects the stored value. */
export function newCredential(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function credentialDigest(credential: string): Buffer {
  return createHash('sm3').update(credential, 'utf8').digest();
}
