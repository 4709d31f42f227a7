import { parseCertificate } from '@sm2ca/pki';
import type { Pool } from '@sm2ca/store';

/** An issuer that signs certificates and therefore CRLs: the root (for its sub-CAs) and each sub-CA. */
export interface CaIssuer {
  id: string;
  keyLabel: string;
  certificate: Buffer;
  /** The certificate's subject exactly as encoded, so CRL issuer names match byte for byte. */
  subject: Uint8Array;
  spki: Uint8Array;
  subjectKeyId: Buffer;
}

export async function loadCaIssuers(pool: Pool): Promise<Map<string, CaIssuer>> {
  const { rows } = await pool.query(
    `SELECT id, key_label, certificate, subject_key_id FROM issuers
      WHERE kind IN ('root', 'subordinate') ORDER BY created_at`,
  );
  return new Map(
    rows.map((row) => {
      const certificate = parseCertificate(new Uint8Array(row.certificate));
      const issuer: CaIssuer = {
        id: row.id,
        keyLabel: row.key_label,
        certificate: row.certificate,
        subject: certificate.subject,
        spki: certificate.spki,
        subjectKeyId: row.subject_key_id,
      };
      return [issuer.id, issuer];
    }),
  );
}

const RELOAD_AFTER_MS = 5_000;

/**
 * The CA issuers as the HTTP side sees them. A key ceremony may add a sub-CA while
 * replicas run, so an unknown id reloads the list, at most every few seconds.
 */
export class CaIssuerDirectory {
  #issuers = new Map<string, CaIssuer>();
  #loadedAt = 0;
  #loading: Promise<void> | undefined;

  constructor(private readonly pool: Pool) {}

  async get(id: string): Promise<CaIssuer | undefined> {
    if (!this.#issuers.has(id) && Date.now() - this.#loadedAt >= RELOAD_AFTER_MS) await this.reload();
    return this.#issuers.get(id);
  }

  async all(): Promise<CaIssuer[]> {
    if (this.#loadedAt === 0) await this.reload();
    return [...this.#issuers.values()];
  }

  reload(): Promise<void> {
    this.#loading ??= loadCaIssuers(this.pool)
      .then((issuers) => {
        this.#issuers = issuers;
        this.#loadedAt = Date.now();
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }
}
