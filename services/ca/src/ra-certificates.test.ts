import { decodeSm2Spki } from '@sm2ca/gm';
import { issueCertificate, keyIdentifier, parseCertificate } from '@sm2ca/pki';
import { issuerUrls } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedSerial } from './issuers.ts';
import { type CaTestBed, createCaTestBed } from './test-support/ca-test-bed.ts';

const DAY_MS = 86_400_000;

describe('CA: which RA certificates it takes instructions under', () => {
  let bed: CaTestBed;
  beforeAll(async () => {
    bed = await createCaTestBed();
  });
  afterAll(() => bed.close());

  /** An RA key renewal as the ceremony records it: a new key, a certificate from the issuing CA, both rows. */
  async function renewRaKey(label: string) {
    const { rows } = await bed.db.pool.query("SELECT certificate FROM issuers WHERE id = 'sub'");
    const issuer = parseCertificate(new Uint8Array(rows[0].certificate));
    const publicKey = await bed.device.generateKeyPair({ label, token: true, extractable: false });
    const notBefore = new Date();
    const urls = issuerUrls(bed.config, 'sub');
    const der = await issueCertificate(
      {
        profile: 'device-sign',
        subject: [
          { type: 'C', value: 'CN' },
          { type: 'O', value: bed.config.ca.organization },
          { type: 'CN', value: `RA ${label}` },
        ],
        publicKey,
        issuer,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 365 * DAY_MS),
        crlDistributionPoints: [urls.crl],
        ocspUrls: [urls.ocsp],
        caIssuersUrls: [urls.caCertificate],
      },
      bed.device.signer('sub-ca'),
    );
    const certificate = parseCertificate(der);
    await bed.db.pool.query(
      `INSERT INTO issuers (id, kind, parent_id, key_label, subject, certificate, subject_key_id, not_after)
       VALUES ($1, 'ra', 'sub', $1, $2, $3, $4, $5)`,
      [label, `CN=RA ${label}`, der, keyIdentifier(decodeSm2Spki(certificate.spki)), certificate.notAfter],
    );
    await bed.db.pool.query(
      `INSERT INTO certificates (issuer_id, serial, status, profile, subject, tbs, der, not_before, not_after,
                                 request_id, issued_at)
       VALUES ('sub', $1, 'good', 'device-sign', $2, $3, $4, $5, $6, $7, now())`,
      [
        storedSerial(certificate),
        `CN=RA ${label}`,
        certificate.tbs,
        der,
        certificate.notBefore,
        certificate.notAfter,
        `ceremony:${label}`,
      ],
    );
    return storedSerial(certificate);
  }

  const revokeInDb = (serial: string) =>
    bed.db.pool.query(
      "UPDATE certificates SET status = 'revoked', revoked_at = now(), revocation_reason = 'keyCompromise' WHERE issuer_id = 'sub' AND serial = $1",
      [serial],
    );

  const issueWith = async (label: string) =>
    bed.instruct(
      '/v1/instructions/issue',
      {
        operation: 'issue',
        profile: 'person-sign',
        csr: await bed.holderCsr(),
        subject: [
          { type: 'C', value: 'CN' },
          { type: 'CN', value: '王五' },
        ],
      },
      { signer: bed.device.signer(label) },
    );

  it('accepts instructions under every current RA certificate after a key renewal, and none under a revoked one', async () => {
    const renewed = await renewRaKey('ra-2');
    const newest = await issueWith('ra-2');
    expect(newest.statusCode, newest.body).toBe(200);
    const oldest = await issueWith('ra');
    expect(oldest.statusCode, oldest.body).toBe(200);

    await revokeInDb(renewed);
    const refused = await issueWith('ra-2');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({
      code: 'RA_CERTIFICATE_REVOKED',
      details: { serial: renewed, status: 'revoked' },
    });
    const revocation = await bed.instruct(
      '/v1/instructions/revoke',
      { operation: 'revoke', issuerId: 'sub', serial: newest.json().serial, reason: 'keyCompromise' },
      { signer: bed.device.signer('ra-2') },
    );
    expect(revocation.json().error.code).toBe('RA_CERTIFICATE_REVOKED');
    const audit = await bed.db.pool.query(
      "SELECT actor, after FROM audit_log WHERE action = 'instruction.refuse' AND subject_id = 'ra-2'",
    );
    expect(audit.rows).toHaveLength(2);
    expect(audit.rows[0].after).toMatchObject({ code: 'RA_CERTIFICATE_REVOKED', serial: renewed });
    expect((await issueWith('ra')).statusCode).toBe(200);
  });

  it('refuses the RA certificate from the key ceremony once it is revoked', async () => {
    const { rows } = await bed.db.pool.query(
      "SELECT serial FROM certificates WHERE request_id = 'ceremony:ra'",
    );
    await revokeInDb(rows[0].serial);
    const refused = await issueWith('ra');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('RA_CERTIFICATE_REVOKED');
  });
});
