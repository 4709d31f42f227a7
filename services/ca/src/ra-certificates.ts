import { type ParsedCertificate, parseCertificate, type Verifier } from '@sm2ca/pki';
import { AppError, recordAudit } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import { storedSerial } from './issuers.ts';

interface RaCertificate {
  id: string;
  /** The issuer its row in `certificates` is filed under. */
  issuerId: string;
  serial: string;
  certificate: ParsedCertificate;
}

/**
 * The RA certificates the key ceremony (and later RA key renewals) recorded. After a
 * renewal the RA signs with its newest key while the older certificate is still valid,
 * so an instruction is accepted under any of them that is within its dates and neither
 * revoked nor suspended; the status is read for every instruction, so a revocation
 * stops the RA key at once.
 */
export class RaCertificates {
  #known: RaCertificate[] = [];

  constructor(
    private readonly pool: Pool,
    private readonly verifier: Verifier,
  ) {}

  async load(): Promise<void> {
    const { rows } = await this.pool.query(
      "SELECT id, parent_id, certificate FROM issuers WHERE kind = 'ra' ORDER BY created_at",
    );
    const known = new Map(this.#known.map((ra) => [ra.id, ra]));
    this.#known = rows.map(
      (row) => known.get(row.id) ?? certificateOf(row.id, row.parent_id, row.certificate),
    );
  }

  /**
   * The RA certificate under which `signature` verifies and that is usable now. Anything
   * short of that reloads the list once, so a certificate recorded since start is found.
   */
  async signerOf(raw: Buffer, signature: Buffer, now = new Date()): Promise<RaCertificate> {
    let match = await this.#match(raw, signature, now);
    if (!match?.usable) {
      await this.load();
      match = await this.#match(raw, signature, now);
    }
    if (match?.usable) return match.ra;
    if (match) return this.#refuse(match.ra, match.status);
    if (!this.#known.some((ra) => withinDates(ra.certificate, now))) {
      throw new AppError('RA_CERTIFICATE_EXPIRED', 'no RA certificate is valid now; renew it', 401);
    }
    throw new AppError('RA_SIGNATURE_INVALID', 'the instruction is not signed by a current RA key', 401);
  }

  /**
   * Newest first: the RA signs with its newest key, so one verification is the usual cost.
   * A renewed certificate may keep the key of one since revoked: a usable one wins.
   */
  async #match(
    raw: Buffer,
    signature: Buffer,
    now: Date,
  ): Promise<{ ra: RaCertificate; status: string; usable: boolean } | undefined> {
    const candidates = this.#known
      .filter((ra) => withinDates(ra.certificate, now))
      .sort((a, b) => b.certificate.notAfter.getTime() - a.certificate.notAfter.getTime());
    let refused: { ra: RaCertificate; status: string; usable: boolean } | undefined;
    for (const ra of candidates) {
      const valid = await this.verifier.verify(ra.certificate.spki, raw, signature).catch(() => false);
      if (!valid) continue;
      const status = await this.#status(ra);
      if (status === 'good') return { ra, status, usable: true };
      refused ??= { ra, status, usable: false };
    }
    return refused;
  }

  async #status(ra: RaCertificate): Promise<string> {
    const { rows } = await this.pool.query({
      name: 'ca-ra-certificate-status',
      text: 'SELECT status FROM certificates WHERE issuer_id = $1 AND serial = $2',
      values: [ra.issuerId, ra.serial],
    });
    return (rows[0]?.status as string | undefined) ?? 'unknown';
  }

  /** Recorded: a revoked RA key still in use means the key or the RA is in the wrong hands. */
  async #refuse(ra: RaCertificate, status: string): Promise<never> {
    await withTransaction(this.pool, (client) =>
      recordAudit(
        client,
        { name: 'ra', role: 'ra_instruction' },
        {
          action: 'instruction.refuse',
          subjectType: 'issuer',
          subjectId: ra.id,
          after: { code: 'RA_CERTIFICATE_REVOKED', serial: ra.serial, status },
        },
      ),
    );
    throw new AppError(
      'RA_CERTIFICATE_REVOKED',
      `the RA certificate ${ra.serial} that signed the instruction is ${status === 'hold' ? 'suspended' : status}`,
      403,
      { serial: ra.serial, status },
    );
  }
}

function certificateOf(id: string, issuerId: string, der: Buffer): RaCertificate {
  const certificate = parseCertificate(new Uint8Array(der));
  return { id, issuerId, serial: storedSerial(certificate), certificate };
}

function withinDates(certificate: ParsedCertificate, now: Date): boolean {
  return certificate.notBefore <= now && now <= certificate.notAfter;
}
