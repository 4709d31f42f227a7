import { type ParsedCertificate, parseCertificate, type Verifier } from '@sm2ca/pki';
import { type Pool, withTransaction } from '@sm2ca/store';
import { AppError } from './app-error.ts';
import { type Actor, recordAudit } from './audit.ts';

export interface CallerCertificate {
  /** Its row in `issuers`. */
  id: string;
  kind: string;
  /** The issuer its row in `certificates` is filed under. */
  issuerId: string;
  /** As `certificates.serial` holds it: the INTEGER content octets, sign octet included. */
  serial: string;
  certificate: ParsedCertificate;
}

export interface CallerCertificatesOptions {
  /** The `issuers` kinds whose certificates may sign (e.g. 'ra'; 'ca-km' and 'ra' at the KM). */
  kinds: readonly string[];
  /** Each service keeps its own stable codes for the three refusals. */
  codes: { expired: string; invalid: string; revoked: string };
  /** How messages name the caller and what it signed: 'RA' and 'instruction' at the CA. */
  words: { caller: string; signed: string };
  /**
   * Puts the use of a revoked or suspended caller key on record (its own transaction) before
   * refusing; left out by a service that records every refusal itself.
   */
  auditRevoked?: { actor: Actor; action: string };
}

/**
 * The certificates of the hierarchy that sign requests to a service (the RA's to the CA, the CA's
 * and the RA's to the KM, the KM's answers), as the key ceremony and later key renewals recorded
 * them. After a renewal the caller signs with its newest key while the older certificate is still
 * valid, so a request is accepted under any of them that is within its dates and neither revoked
 * nor suspended; the status is read for every request, so a revocation stops a key at once.
 */
export class CallerCertificates {
  #known: CallerCertificate[] = [];

  constructor(
    private readonly pool: Pool,
    private readonly verifier: Verifier,
    private readonly options: CallerCertificatesOptions,
  ) {}

  async load(): Promise<void> {
    const { rows } = await this.pool.query(
      'SELECT id, kind, parent_id, certificate FROM issuers WHERE kind = ANY($1) ORDER BY created_at',
      [this.options.kinds],
    );
    const known = new Map(this.#known.map((caller) => [caller.id, caller]));
    this.#known = rows.map(
      (row) => known.get(row.id) ?? certificateOf(row.id, row.kind, row.parent_id, row.certificate),
    );
  }

  /**
   * The certificate under which `signature` verifies and that is usable now. Anything
   * short of that reloads the list once, so a certificate recorded since start is found.
   */
  async signerOf(data: Uint8Array, signature: Uint8Array, now = new Date()): Promise<CallerCertificate> {
    let match = await this.#match(data, signature, now);
    if (!match?.usable) {
      await this.load();
      match = await this.#match(data, signature, now);
    }
    if (match?.usable) return match.caller;
    if (match) return this.#refuse(match.caller, match.status);
    const { codes, words } = this.options;
    if (!this.#known.some((caller) => withinDates(caller.certificate, now))) {
      throw new AppError(codes.expired, `no ${words.caller} certificate is valid now; renew it`, 401);
    }
    throw new AppError(
      codes.invalid,
      `the ${words.signed} is not signed by a current ${words.caller} key`,
      401,
    );
  }

  /**
   * Newest first: a caller signs with its newest key, so one verification is the usual cost.
   * A renewed certificate may keep the key of one since revoked: a usable one wins.
   */
  async #match(
    data: Uint8Array,
    signature: Uint8Array,
    now: Date,
  ): Promise<{ caller: CallerCertificate; status: string; usable: boolean } | undefined> {
    const candidates = this.#known
      .filter((caller) => withinDates(caller.certificate, now))
      .sort((a, b) => b.certificate.notAfter.getTime() - a.certificate.notAfter.getTime());
    let refused: { caller: CallerCertificate; status: string; usable: boolean } | undefined;
    for (const caller of candidates) {
      const valid = await this.verifier.verify(caller.certificate.spki, data, signature).catch(() => false);
      if (!valid) continue;
      const status = await this.#status(caller);
      if (status === 'good') return { caller, status, usable: true };
      refused ??= { caller, status, usable: false };
    }
    return refused;
  }

  async #status(caller: CallerCertificate): Promise<string> {
    const { rows } = await this.pool.query({
      name: 'caller-certificate-status',
      text: 'SELECT status FROM certificates WHERE issuer_id = $1 AND serial = $2',
      values: [caller.issuerId, caller.serial],
    });
    return (rows[0]?.status as string | undefined) ?? 'unknown';
  }

  /** A revoked key still in use means the key or the caller is in the wrong hands. */
  async #refuse(caller: CallerCertificate, status: string): Promise<never> {
    const { codes, words, auditRevoked } = this.options;
    if (auditRevoked) {
      await withTransaction(this.pool, (client) =>
        recordAudit(client, auditRevoked.actor, {
          action: auditRevoked.action,
          subjectType: 'issuer',
          subjectId: caller.id,
          after: { code: codes.revoked, serial: caller.serial, status },
        }),
      );
    }
    throw new AppError(
      codes.revoked,
      `the ${words.caller} certificate ${caller.serial} that signed the ${words.signed} is ${status === 'hold' ? 'suspended' : status}`,
      403,
      { caller: caller.id, serial: caller.serial, status },
    );
  }
}

function certificateOf(id: string, kind: string, issuerId: string, der: Buffer): CallerCertificate {
  const certificate = parseCertificate(new Uint8Array(der));
  return { id, kind, issuerId, serial: Buffer.from(certificate.serialNumber).toString('hex'), certificate };
}

function withinDates(certificate: ParsedCertificate, now: Date): boolean {
  return certificate.notBefore <= now && now <= certificate.notAfter;
}
