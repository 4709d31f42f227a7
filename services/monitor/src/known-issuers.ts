import { parseCertificate } from '@sm2ca/pki';
import type { Pool } from '@sm2ca/store';
import { ProbeFailure } from './probe-failure.ts';

/** A CA issuer as the probes need it: its id, name and key, and one certificate it issued. */
export interface KnownIssuer {
  id: string;
  subject: Uint8Array;
  spki: Uint8Array;
  /** A serial the issuer signed, for a real OCSP question; undefined while it has signed none. */
  knownSerial: string | undefined;
}

/**
 * The CA issuers (root and sub-CAs), read again at most every minute: a key ceremony may add one
 * while the monitor runs. Read from the database, not from the services probed, so that what the
 * probes expect never comes from what they check.
 */
export class KnownIssuers {
  #loaded: { at: number; issuers: KnownIssuer[] } | undefined;

  constructor(private readonly pool: Pool) {}

  async list(): Promise<KnownIssuer[]> {
    if (this.#loaded && Date.now() - this.#loaded.at < 60_000) return this.#loaded.issuers;
    const { rows } = await this.pool.query(
      `SELECT i.id, i.certificate,
              (SELECT c.serial FROM certificates c
                WHERE c.issuer_id = i.id AND c.status <> 'planned' ORDER BY c.issued_at LIMIT 1) AS serial
         FROM issuers i WHERE i.kind IN ('root', 'subordinate') ORDER BY i.created_at`,
    );
    const issuers = rows.map((row) => {
      const certificate = parseCertificate(new Uint8Array(row.certificate));
      return {
        id: String(row.id),
        subject: certificate.subject,
        spki: certificate.spki,
        knownSerial: row.serial ?? undefined,
      };
    });
    // Without a CA there is no real question to ask a relying party's endpoints.
    if (issuers.length === 0) throw new ProbeFailure('NO_CA_ISSUER', 'no CA issuer in the database yet');
    this.#loaded = { at: Date.now(), issuers };
    return issuers;
  }
}
