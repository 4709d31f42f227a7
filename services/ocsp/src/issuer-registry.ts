import {
  type OcspCertId,
  type OcspHashAlgorithm,
  type OcspIssuer,
  type OcspResponder,
  ocspIssuerHashes,
  ocspResponderFromCertificate,
  type ParsedCertificate,
  parseCertificate,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import type { Pool } from '@sm2ca/store';
import { type CertKey, certKeyString, serialHex } from './certificate-state.ts';

/** The CA NOTIFYs here when it creates an issuer, such as a CA's fresh OCSP signer: the registry is reloaded. */
export const issuersChannel = 'issuers_changed';

export const CERT_ID_ALGORITHMS: readonly OcspHashAlgorithm[] = ['sha1', 'sha256', 'sm3'];

export interface OcspSigner {
  id: string;
  keyLabel: string;
  responder: OcspResponder;
  notAfter: Date;
}

/** A CA we answer for, with the delegated signer its responses are signed by. */
export interface ResponderIssuer {
  id: string;
  /** What CertIDs are hashed from. */
  certIdSource: OcspIssuer;
  signer: OcspSigner;
}

/** A CertID resolved to the certificate it names. */
export interface CertTarget {
  issuer: ResponderIssuer;
  certId: OcspCertId;
  /** As the database stores it. */
  serial: string;
  /** The cache's key for the certificate. */
  key: string;
}

/** A certificate's serial as `certificates.serial` holds it: the INTEGER content octets, sign octet included. */
function storedSerial(certificate: ParsedCertificate): string {
  return Buffer.from(certificate.serialNumber).toString('hex');
}

function hashKey(algorithm: OcspHashAlgorithm, nameHash: Buffer, keyHash: Buffer): string {
  return `${algorithm}:${nameHash.toString('latin1')}${keyHash.toString('latin1')}`;
}

/**
 * The CAs of the hierarchy and, for each, its newest usable OCSP signer (key label in the
 * device, certificate sent in every response): within its dates and neither revoked nor
 * suspended. A CA without one is not answered for until the CA service gives it a fresh
 * signer, as it does at once when one is revoked and a month before the newest one expires.
 */
export class IssuerRegistry {
  readonly #byId: Map<string, ResponderIssuer>;
  readonly #byHashes = new Map<string, ResponderIssuer>();
  /** Remembered parses of a request carry the same CertID objects, so each is resolved once. */
  readonly #targets = new WeakMap<OcspCertId, CertTarget | null>();
  /** Signers whose responses may still be served: usable now, the current ones and any older. */
  readonly #usable: Set<string>;
  /** Every signer certificate on record, by certificate key: a status change to one reloads the registry. */
  readonly #signerCertificates: Set<string>;
  /** CA ids without a valid signer, for the operator's log. */
  readonly unsigned: string[];

  private constructor(
    issuers: ResponderIssuer[],
    unsigned: string[],
    usable: Set<string>,
    signerCertificates: Set<string>,
  ) {
    this.#byId = new Map(issuers.map((i) => [i.id, i]));
    this.unsigned = unsigned;
    this.#usable = usable;
    this.#signerCertificates = signerCertificates;
    for (const issuer of issuers) {
      for (const algorithm of CERT_ID_ALGORITHMS) {
        const hashes = ocspIssuerHashes(issuer.certIdSource, algorithm);
        this.#byHashes.set(hashKey(algorithm, hashes.issuerNameHash, hashes.issuerKeyHash), issuer);
      }
    }
  }

  static async load(pool: Pool, now = new Date()): Promise<IssuerRegistry> {
    const { rows } = await pool.query(
      "SELECT id, kind, parent_id, key_label, certificate FROM issuers WHERE kind IN ('root', 'subordinate', 'ocsp') ORDER BY created_at",
    );
    const signers = rows
      .filter((r) => r.kind === 'ocsp')
      .map((row) => {
        const certificate = parseCertificate(row.certificate);
        return { row, certificate, key: certKeyString(row.parent_id, storedSerial(certificate)) };
      });
    const statuses = await pool.query(
      `SELECT issuer_id, serial, status FROM certificates
        WHERE (issuer_id, serial) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [signers.map((s) => s.row.parent_id), signers.map((s) => storedSerial(s.certificate))],
    );
    const good = new Set(
      statuses.rows.filter((r) => r.status === 'good').map((r) => certKeyString(r.issuer_id, r.serial)),
    );
    // The key ceremony records each signer certificate: one not on record, revoked or suspended signs nothing.
    const usable = signers.filter(
      (s) => good.has(s.key) && s.certificate.notBefore <= now && now < s.certificate.notAfter,
    );
    const issuers: ResponderIssuer[] = [];
    const unsigned: string[] = [];
    for (const ca of rows.filter((r) => r.kind !== 'ocsp')) {
      const certificate = parseCertificate(ca.certificate);
      // Certificate times are whole seconds: of two signers made within one, the later made is the newer.
      const signer = usable
        .filter((s) => s.row.parent_id === ca.id)
        .reverse()
        .sort((a, b) => b.certificate.notAfter.getTime() - a.certificate.notAfter.getTime())[0];
      if (!signer) {
        unsigned.push(ca.id);
        continue;
      }
      issuers.push({
        id: ca.id,
        certIdSource: { subjectDer: certificate.subject, publicKey: publicKeyOfSpki(certificate.spki) },
        signer: {
          id: signer.row.id,
          keyLabel: signer.row.key_label,
          responder: ocspResponderFromCertificate(signer.certificate.der),
          notAfter: signer.certificate.notAfter,
        },
      });
    }
    return new IssuerRegistry(
      issuers,
      unsigned,
      new Set(usable.map((s) => s.row.id as string)),
      new Set(signers.map((s) => s.key)),
    );
  }

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): ResponderIssuer | undefined {
    return this.#byId.get(id);
  }

  /** The CA whose name and key hashes the CertID carries (both must match, RFC 6960 4.1.1). */
  match(certId: OcspCertId): ResponderIssuer | undefined {
    return this.#byHashes.get(hashKey(certId.hashAlgorithm, certId.issuerNameHash, certId.issuerKeyHash));
  }

  /** The certificate a CertID names, if one of our CAs issued it. */
  resolve(certId: OcspCertId): CertTarget | undefined {
    let target = this.#targets.get(certId);
    if (target === undefined) {
      const issuer = this.match(certId);
      const serial = issuer ? serialHex(certId.serial) : '';
      target = issuer ? { issuer, certId, serial, key: certKeyString(issuer.id, serial) } : null;
      this.#targets.set(certId, target);
    }
    return target ?? undefined;
  }

  /** The signers whose responses may still be served. */
  get usableSigners(): string[] {
    return [...this.#usable];
  }

  /** Whether a response `signerId` signed may still be served. */
  usable(signerId: string): boolean {
    return this.#usable.has(signerId);
  }

  /** Whether the certificate is one of our OCSP signers'. */
  isSignerCertificate(key: CertKey): boolean {
    return this.#signerCertificates.has(certKeyString(key.issuerId, key.serial));
  }

  /** Same CAs with the same signers: nothing a holder of this registry needs to redo. */
  sameAs(other: IssuerRegistry): boolean {
    if (other.#byId.size !== this.#byId.size) return false;
    for (const [id, issuer] of this.#byId) {
      if (other.#byId.get(id)?.signer.id !== issuer.signer.id) return false;
    }
    return true;
  }

  /** Whether a signer usable here no longer is in `next`: its stored responses must be signed again. */
  retiresSignersIn(next: IssuerRegistry): boolean {
    return [...this.#usable].some((id) => !next.#usable.has(id));
  }
}
