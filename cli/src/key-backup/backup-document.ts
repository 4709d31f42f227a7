import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AppError } from '@sm2ca/platform';
import type { ShareEnvelope } from './share-envelope.ts';

/**
 * What `sm2ca key backup` writes beside the shares: the CA key wrapped under the SM4 key that the
 * shares rebuild, and everything a restore checks. Nothing in it is secret without m shares.
 */
export interface BackupDocument {
  format: 'sm2ca-key-backup/1';
  id: string;
  issuerId: string;
  keyLabel: string;
  /** SubjectPublicKeyInfo DER, base64: the key a restore must give back. */
  publicKey: string;
  /** Public point 04‖X‖Y, then the private key under the SM4 key with SM4-ECB; base64. */
  wrappedPrivateKey: string;
  wrapping: 'SM4-ECB';
  threshold: number;
  custodians: string[];
  /** HMAC-SHA256 of a fixed text under the SM4 key; base64. */
  checkValue: string;
  createdAt: string;
}

export const backupFileName = 'backup.json';

export function shareFileName(envelope: Pick<ShareEnvelope, 'index' | 'custodian'>): string {
  return `share-${envelope.index}-${envelope.custodian}.json`;
}

/** Tells a rebuilt key from a wrong one (too few or foreign shares) before the device sees it. */
export function checkValue(backupId: string, secretKey: Uint8Array): Buffer {
  return createHmac('sha256', secretKey).update(`sm2ca key backup check value ${backupId}`).digest();
}

export function matchesCheckValue(document: BackupDocument, secretKey: Uint8Array): boolean {
  const expected = Buffer.from(document.checkValue, 'base64');
  const actual = checkValue(document.id, secretKey);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

async function readJson(path: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new AppError(
      'KEY_BACKUP_FILE_INVALID',
      `${what} ${path} cannot be read as JSON`,
      400,
      { path },
      {
        cause: err,
      },
    );
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export async function readBackupDocument(path: string): Promise<BackupDocument> {
  const value = await readJson(path, 'backup file');
  const fine =
    isRecord(value) &&
    value.format === 'sm2ca-key-backup/1' &&
    typeof value.id === 'string' &&
    typeof value.issuerId === 'string' &&
    typeof value.keyLabel === 'string' &&
    typeof value.publicKey === 'string' &&
    typeof value.wrappedPrivateKey === 'string' &&
    value.wrapping === 'SM4-ECB' &&
    Number.isInteger(value.threshold) &&
    Array.isArray(value.custodians) &&
    value.custodians.every((c) => typeof c === 'string') &&
    typeof value.checkValue === 'string';
  if (!fine) {
    throw new AppError(
      'KEY_BACKUP_FILE_INVALID',
      `${path} is not an sm2ca key backup (${backupFileName})`,
      400,
      {
        path,
      },
    );
  }
  return value as unknown as BackupDocument;
}

/** A share file names its own scrypt cost: bounded so a doctored one cannot exhaust memory or time. */
function scryptBounded(N: unknown, r: unknown, p: unknown): boolean {
  if (!Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p)) return false;
  const [n, blocks, lanes] = [N as number, r as number, p as number];
  return (
    n >= 1 << 14 &&
    n <= 1 << 20 &&
    (n & (n - 1)) === 0 &&
    blocks >= 1 &&
    blocks <= 16 &&
    lanes >= 1 &&
    lanes <= 4 &&
    128 * n * blocks <= 128 * 1024 * 1024
  );
}

export async function readShareEnvelope(path: string): Promise<ShareEnvelope> {
  const value = await readJson(path, 'share file');
  const kdf = isRecord(value) ? value.kdf : undefined;
  const fine =
    isRecord(value) &&
    value.format === 'sm2ca-key-share/1' &&
    typeof value.backupId === 'string' &&
    typeof value.custodian === 'string' &&
    Number.isInteger(value.index) &&
    isRecord(kdf) &&
    kdf.name === 'scrypt' &&
    scryptBounded(kdf.N, kdf.r, kdf.p) &&
    typeof kdf.salt === 'string' &&
    typeof value.iv === 'string' &&
    typeof value.ciphertext === 'string' &&
    typeof value.tag === 'string';
  if (!fine) {
    throw new AppError('KEY_BACKUP_FILE_INVALID', `${path} is not an sm2ca key share`, 400, { path });
  }
  return value as unknown as ShareEnvelope;
}
