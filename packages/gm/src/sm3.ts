import { createHash } from 'node:crypto';

export function sm3(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sm3');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}
