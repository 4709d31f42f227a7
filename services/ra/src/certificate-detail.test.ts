import { parseCertificate } from '@sm2ca/pki';
import { describe, expect, it } from 'vitest';
import { useRaTestBed } from './test-support/ra-test-bed.ts';
import { recordCertificate } from './test-support/recovery-certificates.ts';

describe('GET /v1/certificates/:issuerId/:serial/detail', () => {
  const bed = useRaTestBed();

  it('decodes the certificate as issued, says whether the newest CRL lists it, and records the read', async () => {
    const holderKey = 'resident-id:11010519491231002X';
    const { issuerId, serial, der } = await recordCertificate(bed, holderKey, 'person-sign');
    const url = `/v1/certificates/${issuerId}/${serial}/detail`;

    const fresh = await bed.call('clerk', 'GET', url);
    expect(fresh.statusCode, fresh.body).toBe(200);
    const parsed = parseCertificate(der);
    expect(fresh.json()).toMatchObject({
      certificate: { issuerId, serial, status: 'good', profile: 'person-sign', holderKey },
      der: der.toString('base64'),
      decoded: {
        version: parsed.version,
        serial,
        notAfter: parsed.notAfter.toISOString(),
        signatureAlgorithm: 'sm2WithSm3',
        extensions: parsed.extensions.map((ext) => expect.objectContaining({ oid: ext.oid })),
      },
      crl: { latest: null, listedSince: null },
    });

    // As the CRL service records a frozen certificate's first listing.
    await bed.pool.query("UPDATE certificates SET status = 'hold', revoked_at = now() WHERE serial = $1", [
      serial,
    ]);
    await bed.pool.query(
      `INSERT INTO crls (issuer_id, crl_number, kind, this_update, next_update, entry_count, der, sm3, publisher)
       VALUES ($1, 1, 'full', now(), now() + interval '1 hour', 1, '\\x30'::bytea, $2, 'test')`,
      [issuerId, Buffer.alloc(32)],
    );
    await bed.pool.query(
      `INSERT INTO crl_revocations (issuer_id, serial, status, revoked_at, first_crl_number, first_published_at)
       SELECT issuer_id, serial, status, revoked_at, 1, now() FROM certificates WHERE serial = $1`,
      [serial],
    );
    const listed = await bed.call('reviewer', 'GET', url);
    expect(listed.json()).toMatchObject({
      certificate: { status: 'hold' },
      crl: { latest: { number: '1', kind: 'full' }, listedSince: '1' },
    });

    const reads = await bed.pool.query(
      "SELECT after FROM audit_log WHERE action = 'holder.read' AND subject_id = $1",
      [holderKey],
    );
    expect(reads.rows.map((row) => row.after.route)).toContain(
      'GET /v1/certificates/:issuerId/:serial/detail',
    );
  });

  it('refuses operators without certificate.read, and answers 404 for an unknown certificate', async () => {
    const { issuerId, serial } = await recordCertificate(
      bed,
      'resident-id:110105194912310021',
      'person-sign',
    );
    const refused = await bed.call('keyAdmin', 'GET', `/v1/certificates/${issuerId}/${serial}/detail`);
    expect(refused.statusCode).toBe(403);
    const missing = await bed.call('clerk', 'GET', `/v1/certificates/${issuerId}/00ff/detail`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('CERTIFICATE_NOT_FOUND');
  });
});
