import { type ParsedCertificate, parseCertificate } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { Pool, PoolClient } from '@sm2ca/store';

export type IssuerKind = 'root' | 'subordinate' | 'ra' | 'ocsp' | 'km' | 'ca-km' | 'audit';

export interface Issuer {
  id: string;
  kind: IssuerKind;
  parentId: string | null;
  keyLabel: string;
  certificate: ParsedCertificate;
}

/** The CA's own certificates and key labels, as the key ceremony recorded them. */
export async function loadIssuers(db: Pool | PoolClient): Promise<Map<string, Issuer>> {
  const { rows } = await db.query(
    'SELECT id, kind, parent_id, key_label, certificate FROM issuers ORDER BY created_at',
  );
  return new Map(
    rows.map((row) => [
      row.id as string,
      {
        id: row.id,
        kind: row.kind,
        parentId: row.parent_id,
        keyLabel: row.key_label,
        certificate: parseCertificate(new Uint8Array(row.certificate)),
      },
    ]),
  );
}

/** A certificate's serial as `certificates.serial` holds it: the INTEGER content octets, sign octet included. */
export function storedSerial(certificate: ParsedCertificate): string {
  return Buffer.from(certificate.serialNumber).toString('hex');
}

/** The issuer's certificate followed by its ancestors' up to the root. */
export function chainOf(issuers: Map<string, Issuer>, issuerId: string): Uint8Array[] {
  const chain: Uint8Array[] = [];
  for (let id: string | null = issuerId; id; id = issuers.get(id)?.parentId ?? null) {
    const issuer = issuers.get(id);
    if (!issuer) break;
    chain.push(issuer.certificate.der);
  }
  return chain;
}

/**
 * The certificates `issuerId` signs under, its own first and the root's last, refused at once when
 * one is outside its dates; their statuses are the caller's to read (requireUsableIssuer, or a
 * statement that plans a certificate only while they are good: `filedUnder` and `serials`).
 */
export function datedIssuerChain(issuers: Map<string, Issuer>, issuerId: string, now = new Date()) {
  const chain: Issuer[] = [];
  for (let id: string | null = issuerId; id; id = issuers.get(id)?.parentId ?? null) {
    const issuer = issuers.get(id);
    if (!issuer) break;
    chain.push(issuer);
  }
  for (const issuer of chain) {
    const { notBefore, notAfter } = issuer.certificate;
    if (now < notBefore || now > notAfter) refuse(issuerId, issuer, 'outside its validity period');
  }
  return {
    chain,
    filedUnder: chain.map((i) => i.parentId ?? i.id),
    serials: chain.map((i) => storedSerial(i.certificate)),
  };
}

/**
 * Refuses to sign under `issuerId` while its certificate, or one above it, is outside its
 * dates, revoked or suspended: what it signed would not chain to anything a relying party
 * accepts. The statuses are read for every signature, so a revocation takes effect at once.
 */
export async function requireUsableIssuer(
  db: Pool | PoolClient,
  issuers: Map<string, Issuer>,
  issuerId: string,
  now = new Date(),
): Promise<void> {
  const { chain, filedUnder, serials } = datedIssuerChain(issuers, issuerId, now);
  const { rows } = await db.query({
    name: 'ca-issuer-chain-status',
    text: `SELECT issuer_id, serial, status FROM certificates
            WHERE (issuer_id, serial) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    values: [filedUnder, serials],
  });
  chain.forEach((issuer, i) => {
    const row = rows.find((r) => r.issuer_id === filedUnder[i] && r.serial === serials[i]);
    // The ceremony records each certificate it makes: one not on record is not vouched for.
    if (!row) refuse(issuerId, issuer, 'not on record');
    if (row.status !== 'good') refuse(issuerId, issuer, row.status === 'hold' ? 'suspended' : 'revoked');
  });
}

function refuse(issuerId: string, issuer: Issuer, why: string): never {
  const whose = issuer.id === issuerId ? 'its certificate' : `the certificate of ${issuer.id} above it`;
  throw new AppError('ISSUER_NOT_USABLE', `issuer ${issuerId} cannot sign: ${whose} is ${why}`, 409, {
    issuerId,
    certificateOf: issuer.id,
    why,
  });
}
