import pg from 'pg';

export interface Acknowledged {
  issuerId: string;
  serial: string;
}

export interface IntegrityReport {
  acknowledged: number;
  /** Acknowledged issuances without a signed certificate in the database. */
  lost: Acknowledged[];
  duplicateSerials: string[];
  /** CA requests (instructions) that produced more than one certificate. */
  requestsWithTwoCertificates: string[];
  /** Issued applications whose certificate is missing. */
  applicationsWithoutCertificate: string[];
  /** Per issuer, the CRL numbers missing between the first and the last archived one. */
  crlGaps: { issuerId: string; missing: number[] }[];
  crlsPublished: number;
}

/** Whether the report shows nothing lost, doubled or skipped. */
export function intact(report: IntegrityReport): boolean {
  return (
    report.lost.length === 0 &&
    report.duplicateSerials.length === 0 &&
    report.requestsWithTwoCertificates.length === 0 &&
    report.applicationsWithoutCertificate.length === 0 &&
    report.crlGaps.length === 0
  );
}

/**
 * What a client was promised against what the database (through the current primary) holds:
 * every issuance the RA acknowledged has its signed certificate, no serial twice, no request
 * answered with two certificates, and each issuer's cRLNumbers run without a gap.
 */
export async function checkIntegrity(
  databaseUrl: string,
  acknowledged: Acknowledged[],
): Promise<IntegrityReport> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: found } = await client.query<{ issuer_id: string; serial: string }>(
      `SELECT issuer_id, serial FROM certificates
        WHERE der IS NOT NULL AND (issuer_id, serial) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [acknowledged.map((a) => a.issuerId), acknowledged.map((a) => a.serial)],
    );
    const present = new Set(found.map((r) => `${r.issuer_id}/${r.serial}`));
    const { rows: duplicates } = await client.query<{ serial: string }>(
      'SELECT serial FROM certificates GROUP BY serial HAVING count(*) > 1',
    );
    const { rows: doubled } = await client.query<{ request_id: string }>(
      'SELECT request_id FROM certificates GROUP BY request_id HAVING count(*) > 1',
    );
    const { rows: orphans } = await client.query<{ id: string }>(
      `SELECT a.id FROM applications a
         LEFT JOIN certificates c ON c.issuer_id = a.issuer_id AND c.serial = a.serial AND c.der IS NOT NULL
        WHERE a.status = 'issued' AND c.serial IS NULL`,
    );
    const { rows: numbers } = await client.query<{ issuer_id: string; crl_number: string }>(
      'SELECT issuer_id, crl_number FROM crls ORDER BY issuer_id, crl_number',
    );
    const byIssuer = new Map<string, number[]>();
    for (const r of numbers) {
      const list = byIssuer.get(r.issuer_id) ?? [];
      list.push(Number(r.crl_number));
      byIssuer.set(r.issuer_id, list);
    }
    const crlGaps: IntegrityReport['crlGaps'] = [];
    for (const [issuerId, list] of byIssuer) {
      const missing: number[] = [];
      for (let n = list[0]!, i = 0; n <= list[list.length - 1]!; n++) {
        if (list[i] === n) i++;
        else missing.push(n);
      }
      if (missing.length > 0) crlGaps.push({ issuerId, missing });
    }
    return {
      acknowledged: acknowledged.length,
      lost: acknowledged.filter((a) => !present.has(`${a.issuerId}/${a.serial}`)),
      duplicateSerials: duplicates.map((r) => r.serial),
      requestsWithTwoCertificates: doubled.map((r) => r.request_id),
      applicationsWithoutCertificate: orphans.map((r) => r.id),
      crlGaps,
      crlsPublished: numbers.length,
    };
  } finally {
    await client.end();
  }
}
