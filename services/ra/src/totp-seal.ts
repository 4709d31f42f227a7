import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '@sm2ca/platform';

const IV_BYTES = 16;
const TAG_BYTES = 32;

/**
 * Seals operators' TOTP secrets under a key kept outside the database (SM4-CTR, then HMAC-SM3
 * over the IV, the ciphertext and the operator id), so a reader of the database alone cannot
 * compute codes, nor move one operator's sealed secret to another.
 */
export class TotpSeal {
  readonly #encryptionKey: Buffer;
  readonly #macKey: Buffer;

  constructor(master: Uint8Array) {
    if (master.length < 32)
      throw new AppError('TOTP_SEAL_KEY_SHORT', 'the TOTP seal key needs 32 bytes', 500);
    const derive = (info: string, length: number) =>
      Buffer.from(hkdfSync('sm3', master, 'sm2ca totp seal', info, length));
    this.#encryptionKey = derive('sm4-ctr', 16);
    this.#macKey = derive('hmac-sm3', 32);
  }

  /**
   * The key in <home>/secrets/totp-seal.key, made on first use (mode 0600). Every RA replica
   * must see the same file; back it up with the data directory's other secrets.
   */
  static fromHome(home: string): TotpSeal {
    const dir = join(home, 'secrets');
    const file = join(dir, 'totp-seal.key');
    if (!existsSync(file)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      try {
        writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        // Another replica made it first: use theirs.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    return new TotpSeal(readFileSync(file));
  }

  /**
   * The key given as text (SM2CA_TOTP_SEAL_KEY): hex when every character is a hex digit, else
   * base64. Replicas on several hosts share it this way instead of a file each host must copy.
   */
  static fromText(text: string): TotpSeal {
    const trimmed = text.trim();
    return new TotpSeal(Buffer.from(trimmed, /^[0-9A-Fa-f]+$/.test(trimmed) ? 'hex' : 'base64'));
  }

  /** The configured key if there is one, else the data directory's file. */
  static configured(home: string, key: string | undefined): TotpSeal {
    return key === undefined ? TotpSeal.fromHome(home) : TotpSeal.fromText(key);
  }

  seal(operatorId: string, secret: Uint8Array): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('sm4-ctr', this.#encryptionKey, iv);
    const body = Buffer.concat([cipher.update(secret), cipher.final()]);
    return Buffer.concat([iv, body, this.#tag(operatorId, iv, body)]);
  }

  open(operatorId: string, sealed: Uint8Array): Buffer {
    const all = Buffer.from(sealed);
    const iv = all.subarray(0, IV_BYTES);
    const body = all.subarray(IV_BYTES, all.length - TAG_BYTES);
    const tag = all.subarray(all.length - TAG_BYTES);
    if (all.length < IV_BYTES + TAG_BYTES || !timingSafeEqual(tag, this.#tag(operatorId, iv, body))) {
      throw new AppError(
        'TOTP_SEAL_BROKEN',
        'the stored TOTP secret does not open under this seal key (another key, or an edited row)',
        500,
      );
    }
    const decipher = createDecipheriv('sm4-ctr', this.#encryptionKey, iv);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  }

  #tag(operatorId: string, iv: Buffer, body: Buffer): Buffer {
    return createHmac('sm3', this.#macKey).update(`${operatorId}\n`).update(iv).update(body).digest();
  }
}
