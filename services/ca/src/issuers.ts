import { type ParsedCertificate, parseCertificate } from '@sm2ca/pki';
import type { Pool } from '@sm2ca/store';

export type IssuerKind = 'root' | 'subordinate' | 'ra' | 'ocsp';

export interface Issuer {
  id: string;
  kind: IssuerKind;
  parentId: string | null;
  keyLabel: string;
  certificate: ParsedCertificate;
}

/** The CA's own certificates and key labels, as the key ceremony recorded them. */
export async function loadIssuers(pool: Pool): Promise<Map<string, Issuer>> {
  const { rows } = await pool.query(
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
