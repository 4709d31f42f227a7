import type { Device } from '@sm2ca/device';
import type { Signer } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';

/** How long a replica keeps signing with the key it last read before it looks for a rotated one. */
const REREAD_MS = 5_000;

/**
 * The RA's signing key: the newest issuers row of kind 'ra'. A dual-control RA key rotation adds a
 * newer one and revokes the old certificate, so the label is read again every few seconds (and at
 * once after a rotation this replica carried out) instead of once at start.
 */
export class RaSigner implements Signer {
  #label = '';
  #readAt = 0;

  private constructor(
    private readonly pool: Pool,
    private readonly device: Device,
  ) {}

  static async open(pool: Pool, device: Device): Promise<RaSigner> {
    const signer = new RaSigner(pool, device);
    await signer.#read();
    return signer;
  }

  /** Takes up a key rotated in this moment without waiting for the next read. */
  forget(): void {
    this.#readAt = 0;
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    if (Date.now() - this.#readAt > REREAD_MS) await this.#read();
    return this.device.sign(this.#label, data);
  }

  async #read(): Promise<void> {
    const { rows } = await this.pool.query(
      "SELECT key_label FROM issuers WHERE kind = 'ra' ORDER BY created_at DESC, id DESC LIMIT 1",
    );
    if (!rows[0]) {
      throw new AppError(
        'RA_KEY_MISSING',
        'no RA key is registered (issuers of kind ra); run the RA key ceremony',
        500,
      );
    }
    this.#label = rows[0].key_label;
    this.#readAt = Date.now();
  }
}
