import { describe, expect, it } from 'vitest';
import { archiveCertificates } from './certificate-archive.ts';
import { issuingCaId, useRaTestBed } from './test-support/ra-test-bed.ts';

const person = { commonName: '赵六', identity: { residentId: '110105198001010016' } };
const agency = {
  commonName: '福州市某局',
  organization: '福州市人民政府',
  identity: { unifiedSocialCreditCode: '11350100MB0000000Y' },
};
const settings = { archiveAfterDays: 30, holderRetentionYears: 5, governmentRetentionYears: 10 };
/** Whole calendar years after `from` (a 29 February may land a day apart from PostgreSQL's answer). */
const yearsAfter = (years: number, from: string, at: string) => {
  const expected = new Date(from);
  expected.setUTCFullYear(expected.getUTCFullYear() + years);
  return Math.abs(Date.parse(at) - expected.getTime()) <= 86_400_000;
};

/** Certificate queries by holder identity and the rest, the holder's own query, and the archive. */
describe('RA certificate queries and archive', () => {
  const bed = useRaTestBed();

  async function issued(holderType: 'person' | 'organisation', holder: object) {
    const submitted = await bed.call('clerk', 'POST', '/v1/applications', {
      holderType,
      profile: holderType === 'person' ? 'person-sign' : 'organization-sign',
      holder,
      csr: bed.hierarchy.sm2Csr(),
      publishConsent: false,
    });
    const { id } = submitted.json();
    await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' });
    const made = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(made.statusCode, made.body).toBe(201);
    return made.json() as { serial: string; download: { reference: string; code: string } };
  }
  const query = async (params: string) => {
    const res = await bed.call('reviewer', 'GET', `/v1/certificates?${params}`);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().items as Array<{ serial: string }>).map((c) => c.serial);
  };

  it('finds certificates by resident ID, USCC, subject, profile, time and status, page by page', async () => {
    const a = await issued('person', person);
    const b = await issued('person', person);
    const c = await issued('organisation', agency);
    expect(await query('residentId=110105198001010016')).toEqual([b.serial, a.serial]);
    expect(await query('uscc=11350100MB0000000Y')).toEqual([c.serial]);
    expect(await query(`subject=${encodeURIComponent('某局')}`)).toEqual([c.serial]);
    expect(await query('profile=organization-sign')).toContain(c.serial);
    expect(await query('residentId=110105198001010016&limit=1&offset=1')).toEqual([a.serial]);
    const soon = new Date(Date.now() + 3_600_000).toISOString();
    expect(await query(`issuedAfter=${soon}`)).toEqual([]);
    expect(await query(`residentId=110105198001010016&expiresAfter=${soon}`)).toHaveLength(2);
    expect(await query(`residentId=110105198001010016&expiresBefore=${soon}`)).toEqual([]);
    expect(await query('residentId=110105198001010016&status=archived')).toEqual([]);

    for (const bad of [
      'residentId=12345',
      'uscc=notacode',
      'status=lost',
      'issuedAfter=yesterday',
      'limit=0',
    ]) {
      const res = await bed.call('reviewer', 'GET', `/v1/certificates?${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.code).toBe('REQUEST_INVALID');
    }
    expect((await bed.call(undefined, 'GET', '/v1/certificates')).statusCode).toBe(401);
  });

  it('archives expired and revoked certificates after the retention period, keeping everything', async () => {
    const old = await issued('person', person);
    const gov = await issued('organisation', agency);
    const current = await issued('person', person);
    // Expired 40 days ago; revoked 40 days ago.
    await bed.pool.query(
      `UPDATE certificates SET not_before = now() - interval '400 days', not_after = now() - interval '40 days'
        WHERE serial = $1`,
      [old.serial],
    );
    await bed.pool.query(
      `UPDATE certificates SET status = 'revoked', revoked_at = now() - interval '40 days', revocation_reason = 'superseded'
        WHERE serial = $1`,
      [gov.serial],
    );
    expect(await query('residentId=110105198001010016&status=expired')).toEqual([old.serial]);
    const certificatesBefore = (await bed.pool.query('SELECT count(*) FROM certificates')).rows[0].count;
    expect(await archiveCertificates(bed.pool, { ...settings, archiveAfterDays: 50 })).toBe(0);
    expect(await archiveCertificates(bed.pool, settings)).toBe(2);
    expect(await archiveCertificates(bed.pool, settings)).toBe(0);
    expect((await bed.pool.query('SELECT count(*) FROM certificates')).rows[0].count).toBe(
      certificatesBefore,
    );

    const [expired] = (await bed.call('reviewer', 'GET', `/v1/certificates?serial=${old.serial}`)).json()
      .items;
    expect(expired.archive).toMatchObject({ reason: 'expired' });
    expect(yearsAfter(5, expired.notAfter, expired.archive.retainUntil)).toBe(true);
    const [revoked] = (await bed.call('reviewer', 'GET', `/v1/certificates?serial=${gov.serial}`)).json()
      .items;
    expect(revoked).toMatchObject({ status: 'revoked', archive: { reason: 'revoked' } });
    expect(yearsAfter(10, revoked.notAfter, revoked.archive.retainUntil)).toBe(true);
    expect(await query('status=archived')).toEqual(expect.arrayContaining([old.serial, gov.serial]));
    expect(await query('status=archived')).not.toContain(current.serial);
    expect(await query('residentId=110105198001010016&status=expired')).toEqual([]);
    const audit = await bed.pool.query(
      "SELECT subject_id, after->>'government' AS government FROM audit_log WHERE action = 'certificate.archive' ORDER BY subject_id",
    );
    expect(audit.rows).toEqual(
      expect.arrayContaining([
        { subject_id: `${issuingCaId}/${old.serial}`, government: 'false' },
        { subject_id: `${issuingCaId}/${gov.serial}`, government: 'true' },
      ]),
    );
  });

  it('lets a holder list their own certificates with a used reference and code, and counts wrong codes', async () => {
    const first = await issued('organisation', agency);
    const { reference, code } = first.download;
    const used = await bed.call(undefined, 'POST', '/v1/download', { reference, code, format: 'pem' });
    expect(used.statusCode).toBe(200);
    const mine = await bed.call(undefined, 'POST', '/v1/holder/certificates', { reference, code });
    expect(mine.statusCode, mine.body).toBe(200);
    const serials = (mine.json().items as Array<{ serial: string; holderKey: string }>).map((c) => c.serial);
    expect(serials).toContain(first.serial);
    expect(serials).toEqual(await query('uscc=11350100MB0000000Y'));
    expect(serials).not.toEqual(expect.arrayContaining(await query('residentId=110105198001010016')));

    const wrong = await bed.call(undefined, 'POST', '/v1/holder/certificates', {
      reference,
      code: 'AAAA-AAAA-AAAA-AAAA',
    });
    expect(wrong.statusCode).toBe(403);
    // The answer is the one an unknown reference gets; the count is kept where the holder cannot see it.
    expect(wrong.json().error.code).toBe('DOWNLOAD_CODE_INVALID');
    const { rows } = await bed.pool.query('SELECT failed_attempts FROM download_codes WHERE reference = $1', [
      reference,
    ]);
    expect(rows[0].failed_attempts).toBe(1);
    const bad = await bed.call(undefined, 'POST', '/v1/holder/certificates', { reference: '12', code: 'x' });
    expect(bad.json().error.code).toBe('REQUEST_INVALID');
  });
});
