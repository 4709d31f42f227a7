import { describe, expect, it } from 'vitest';
import { rowsOfCsv } from './batch-rows.ts';
import { useRaTestBed } from './test-support/ra-test-bed.ts';

const residentWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/** The n-th valid GB 11643 number born 1980-01-01 in Beijing Chaoyang. */
function residentId(n: number): string {
  const body = `11010519800101${String(n).padStart(3, '0')}`;
  const sum = residentWeights.reduce((acc, w, i) => acc + w * Number(body[i]), 0);
  return body + '10X98765432'[sum % 11];
}

describe('batch rows from CSV', () => {
  it('reads a header, quoted PEM over several lines, identity columns, lists and consent', () => {
    const pem = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----';
    const rows = rowsOfCsv(
      `\ufeffholderType,profile,commonName,residentId,dnsNames,email,publishConsent,csr\n` +
        `person,person-sign,"张三, 北京",11010519491231002X,,,yes,"${pem}"\n` +
        `device,tls-server,web1,,a.example.cn b.example.cn,,false,MIIB\n`,
    );
    expect(rows).toEqual([
      {
        holderType: 'person',
        profile: 'person-sign',
        holder: { commonName: '张三, 北京', identity: { residentId: '11010519491231002X' } },
        publishConsent: true,
        csr: pem,
      },
      {
        holderType: 'device',
        profile: 'tls-server',
        holder: { commonName: 'web1', dnsNames: ['a.example.cn', 'b.example.cn'] },
        publishConsent: false,
        csr: 'MIIB',
      },
    ]);
  });

  it('refuses a file that is not CSV as a whole', () => {
    expect(() => rowsOfCsv('a,b\n"unterminated,1\n')).toThrow(/CSV cannot be read/);
  });
});

describe('RA batches', () => {
  const bed = useRaTestBed();

  const person = (n: number, csr = bed.hierarchy.sm2Csr()) => ({
    holderType: 'person',
    profile: 'person-sign',
    holder: { commonName: `持证人${n}`, identity: { residentId: residentId(n) } },
    csr,
    publishConsent: false,
  });

  it('reports each bad row with a stable code, enters the good ones, and issues them under one signature', async () => {
    const reused = bed.hierarchy.sm2Csr();
    const rows = [
      person(1),
      person(2, reused),
      { ...person(3), csr: 'not a request' },
      { ...person(4), holder: { commonName: 'x', identity: { residentId: '110105198001010041' } } },
      { ...person(5), profile: 'no-such-profile' },
      person(6, reused),
      { ...person(7), extra: true },
      { ...person(8), holder: { commonName: '持证人2', identity: { residentId: residentId(2) } } },
      person(9),
    ];
    const submitted = await bed.call('clerk', 'POST', '/v1/batches', { rows });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const { batch, invalid } = submitted.json();
    expect(invalid.map((r: { rowNumber: number; code: string }) => [r.rowNumber, r.code])).toEqual([
      [3, 'CSR_MALFORMED'],
      [4, 'IDENTITY_INVALID'],
      [5, 'PROFILE_UNKNOWN'],
      [6, 'ROW_DUPLICATE'],
      [7, 'ROW_MALFORMED'],
      [8, 'ROW_DUPLICATE'],
    ]);
    expect(batch.counts).toEqual({
      rows: 9,
      invalid: 6,
      submitted: 3,
      approved: 0,
      rejected: 0,
      issued: 0,
      failed: 0,
    });
    expect(Date.parse(batch.deadline)).toBeGreaterThan(Date.now() + 24 * 3600 * 1000);

    const page = await bed.call('clerk', 'GET', `/v1/batches/${batch.id}/rows?limit=4&offset=2`);
    expect(
      page.json().items.map((r: { rowNumber: number; status: string }) => [r.rowNumber, r.status]),
    ).toEqual([
      [3, 'invalid'],
      [4, 'invalid'],
      [5, 'invalid'],
      [6, 'invalid'],
    ]);

    // The clerk entered it; a reviewer who entered it (only through the database) is refused too.
    expect(
      (await bed.call('clerk', 'POST', `/v1/batches/${batch.id}/review`, { decision: 'approve' })).statusCode,
    ).toBe(403);
    await bed.pool.query('UPDATE batches SET entered_by = $2 WHERE id = $1', [batch.id, bed.ids.reviewer]);
    const same = await bed.call('reviewer', 'POST', `/v1/batches/${batch.id}/review`, {
      decision: 'approve',
    });
    expect(same.json().error.code).toBe('SAME_OPERATOR');
    await bed.pool.query('UPDATE batches SET entered_by = $2 WHERE id = $1', [batch.id, bed.ids.clerk]);

    const noReason = await bed.call('reviewer', 'POST', `/v1/batches/${batch.id}/review`, {
      decision: 'reject',
      rows: [9],
    });
    expect(noReason.json().error.code).toBe('REVIEW_REASON_REQUIRED');
    const rejected = await bed.call('reviewer', 'POST', `/v1/batches/${batch.id}/review`, {
      decision: 'reject',
      reason: 'holder withdrew',
      rows: [9, 3],
    });
    expect(rejected.json()).toMatchObject({
      decided: 1,
      refused: [{ rowNumber: 3, code: 'ROW_NOT_FOUND' }],
    });
    const approved = await bed.call('reviewer', 'POST', `/v1/batches/${batch.id}/review`, {
      decision: 'approve',
    });
    expect(approved.json()).toMatchObject({
      decided: 2,
      refused: [],
      batch: { counts: { approved: 2, rejected: 1 } },
    });

    const before = bed.ca.received.length;
    const issue = await bed.call('maker', 'POST', `/v1/batches/${batch.id}/issue`);
    expect(issue.statusCode, issue.body).toBe(200);
    const issued = issue.json();
    expect(issued.failed).toEqual([]);
    expect(issued.issued.map((r: { rowNumber: number }) => r.rowNumber)).toEqual([1, 2]);
    expect(issued.batch.counts).toMatchObject({ issued: 2, approved: 0, rejected: 1, invalid: 6 });
    const sent = bed.ca.received.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ operation: 'issue-batch' });
    expect(sent[0]!.items).toHaveLength(2);

    // Each holder downloads by the row's reference and code, as for a single application.
    for (const row of issued.issued) {
      const download = await bed.call(undefined, 'POST', '/v1/download', {
        reference: row.download.reference,
        code: row.download.code,
        format: 'pem',
      });
      expect(download.statusCode, download.body).toBe(200);
    }
    const audit = await bed.pool.query(
      `SELECT action, count(*)::int AS n FROM audit_log
        WHERE subject_type = 'application' AND subject_id = ANY($1) GROUP BY action ORDER BY action`,
      [issued.issued.map((r: { applicationId: string }) => r.applicationId)],
    );
    expect(audit.rows).toEqual([
      { action: 'application.approve', n: 2 },
      { action: 'application.issue', n: 2 },
      { action: 'application.issue_request', n: 2 },
      { action: 'application.submit', n: 2 },
      { action: 'download_code.create', n: 2 },
    ]);
  });

  it('takes CSV, and resumes an issuance the CA dropped under the same request ids', async () => {
    const csv = [
      'holderType,profile,commonName,residentId,publishConsent,csr',
      ...[21, 22, 23].map(
        (n) => `person,person-sign,持证人${n},${residentId(n)},true,"${bed.hierarchy.sm2Csr()}"`,
      ),
      `person,person-sign,坏行,${residentId(24).slice(0, 17)}0,true,"${bed.hierarchy.sm2Csr()}"`,
    ].join('\n');
    const submitted = await bed.call('clerk', 'POST', '/v1/batches', csv);
    expect(submitted.statusCode, submitted.body).toBe(201);
    const { batch, invalid } = submitted.json();
    expect(batch).toMatchObject({ format: 'csv', counts: { rows: 4, submitted: 3, invalid: 1 } });
    expect(invalid).toMatchObject([{ rowNumber: 4, code: 'IDENTITY_INVALID' }]);
    await bed.call('reviewer', 'POST', `/v1/batches/${batch.id}/review`, { decision: 'approve' });

    bed.ca.failures.push('drop');
    const stopped = await bed.call('maker', 'POST', `/v1/batches/${batch.id}/issue`);
    // Chunks go out side by side: the dropped one stays approved, under the request ids it claimed.
    expect(stopped.json()).toMatchObject({ stopped: { code: 'CA_UNAVAILABLE' } });
    const claimed = await bed.pool.query(
      'SELECT ca_request_id FROM applications WHERE batch_id = $1 ORDER BY batch_row',
      [batch.id],
    );
    expect(claimed.rows.every((r) => r.ca_request_id)).toBe(true);

    const resumed = await bed.call('maker', 'POST', `/v1/batches/${batch.id}/issue`);
    expect(resumed.json()).toMatchObject({ failed: [], batch: { counts: { issued: 3, approved: 0 } } });
    const after = await bed.pool.query(
      'SELECT ca_request_id FROM applications WHERE batch_id = $1 ORDER BY batch_row',
      [batch.id],
    );
    expect(after.rows).toEqual(claimed.rows);
    const again = await bed.call('maker', 'POST', `/v1/batches/${batch.id}/issue`);
    expect(again.json()).toMatchObject({ issued: [], failed: [] });
    const certificates = await bed.pool.query(
      'SELECT count(*)::int AS n FROM certificates WHERE request_id = ANY($1)',
      [claimed.rows.map((r) => r.ca_request_id)],
    );
    expect(certificates.rows[0].n).toBe(3);
  });

  it('refuses an empty batch and one over 10,000 rows as a whole', async () => {
    const empty = await bed.call('clerk', 'POST', '/v1/batches', { rows: [] });
    expect(empty.json().error.code).toBe('BATCH_EMPTY');
    const big = await bed.call('clerk', 'POST', '/v1/batches', {
      rows: Array.from({ length: 10_001 }, () => ({})),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('BATCH_TOO_LARGE');
    const notRows = await bed.call('clerk', 'POST', '/v1/batches', { items: [] });
    expect(notRows.json().error.code).toBe('BATCH_MALFORMED');
  });
});
