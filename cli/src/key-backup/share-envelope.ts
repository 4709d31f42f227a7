import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { AppError } from '@sm2ca/platform';

/**
 * One custodian's Shamir share under a key derived from the custodian's passphrase: scrypt, then
 * AES-256-GCM with the backup, the share's index and the custodian bound in as associated data, so a
 * share cannot be passed off as another custodian's or another backup's.
 */
export interface ShareEnvelope {
  format: 'sm2ca-key-share/1';
  backupId: string;
  custodian: string;
  index: number;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  iv: string;
  ciphertext: string;
  tag: string;
}

const derive = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

// 64 MiB per guess: offline guessing of a stolen share file stays expensive.
const scryptCost = { N: 1 << 16, r: 8, p: 1 };
const maxmem = 256 * 1024 * 1024;

function associatedData(backupId: string, index: number, custodian: string): Buffer {
  return Buffer.from(JSON.stringify(['sm2ca-key-share/1', backupId, index, custodian]), 'utf8');
}

export async function sealShare(
  share: Uint8Array,
  passphrase: string,
  where: { backupId: string; custodian: string; index: number },
): Promise<ShareEnvelope> {
  const salt = randomBytes(16);
  const key = await derive(passphrase.normalize('NFKC'), salt, 32, { ...scryptCost, maxmem });
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData(where.backupId, where.index, where.custodian));
  const ciphertext = Buffer.concat([cipher.update(share), cipher.final()]);
  key.fill(0);
  return {
    format: 'sm2ca-key-share/1',
    ...where,
    kdf: { name: 'scrypt', ...scryptCost, salt: salt.toString('base64') },
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/** The share, or KEY_SHARE_PASSPHRASE when the passphrase (or the envelope) is not the custodian's. */
export async function openShare(envelope: ShareEnvelope, passphrase: string): Promise<Uint8Array> {
  const { N, r, p } = envelope.kdf;
  const key = await derive(passphrase.normalize('NFKC'), Buffer.from(envelope.kdf.salt, 'base64'), 32, {
    N,
    r,
    p,
    maxmem,
  });
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'));
    decipher.setAAD(associatedData(envelope.backupId, envelope.index, envelope.custodian));
    decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
    return new Uint8Array(
      Buffer.concat([decipher.update(Buffer.from(envelope.ciphertext, 'base64')), decipher.final()]),
    );
  } catch {
    throw new AppError(
      'KEY_SHARE_PASSPHRASE',
      `the passphrase of custodian "${envelope.custodian}" does not open share ${envelope.index}`,
      400,
      { custodian: envelope.custodian, index: envelope.index },
    );
  } finally {
    key.fill(0);
  }
}
