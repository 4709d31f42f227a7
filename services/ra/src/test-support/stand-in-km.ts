import { createHash } from 'node:crypto';
import { parseCertificate } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import type { KeyRestorer } from '../key-release.ts';

type Item = { userCertNo: string; userPublicKey: Uint8Array };

/**
 * KM's restoreKey as the RA's recovery tests need it: it answers the escrowed public key of the
 * encryption certificate named and a stand-in envelope that names the recipient key, refuses a
 * task number reused for another request, and fails on demand before doing anything.
 */
export class StandInKm implements KeyRestorer {
  readonly received: Array<{ taskNo: string; caName: string } & Item> = [];
  /** Errors for the next calls: KM down, or refusing. */
  readonly failures: AppError[] = [];
  readonly #tasks = new Map<string, string>();

  constructor(private readonly pool: Pool) {}

  async restoreKey(taskNo: string, caName: string, item: Item) {
    this.received.push({ taskNo, caName, ...item });
    const failure = this.failures.shift();
    if (failure) throw failure;
    const request = `${caName}/${item.userCertNo}/${Buffer.from(item.userPublicKey).toString('hex')}`;
    const earlier = this.#tasks.get(taskNo);
    if (earlier !== undefined && earlier !== request) {
      throw new AppError('KM_REFUSED', 'REPLAYED: task number reused', 502, { errNo: 4, kmCode: 'REPLAYED' });
    }
    this.#tasks.set(taskNo, request);
    const { rows } = await this.pool.query(
      'SELECT der FROM certificates WHERE issuer_id = $1 AND serial = $2',
      [caName, item.userCertNo],
    );
    if (!rows[0]) {
      throw new AppError('KM_REFUSED', 'KEY_UNKNOWN: no escrowed key', 502, {
        errNo: 9,
        kmCode: 'KEY_UNKNOWN',
      });
    }
    return {
      publicKey: parseCertificate(new Uint8Array(rows[0].der)).spki,
      envelopedKey: StandInKm.envelopeFor(item.userPublicKey),
    };
  }

  /** The stand-in envelope for a recipient key: tests see which key it was made for. */
  static envelopeFor(recipientSpki: Uint8Array): Uint8Array {
    return createHash('sm3').update(recipientSpki).digest();
  }
}
