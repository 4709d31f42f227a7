import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { derToPem, lintCertificate, parseCertificate, templateOfProfile, validateChain } from '@sm2ca/pki';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmDistId, openssl, tempDir } from '../../../test/support/openssl-cli.ts';
import { statusChannel } from './certificate-events.ts';
import { type CaTestBed, createCaTestBed } from './test-support/ca-test-bed.ts';

const subject = [
  { type: 'C', value: 'CN' },
  { type: 'CN', value: '张三' },
];

describe('CA issuance', () => {
  let bed: CaTestBed;
  beforeAll(async () => {
    bed = await createCaTestBed();
  });
  afterAll(() => bed.close());

  const issue = async (extra: Record<string, unknown> = {}) =>
    bed.instruct('/v1/instructions/issue', {
      operation: 'issue',
      profile: 'person-sign',
      csr: await bed.holderCsr(),
      subject,
      identity: { residentId: '11010519491231002X' },
      holderKey: 'resident-id:11010519491231002X',
      ...extra,
    });

  it('issues a certificate that lints clean and chains to the root', async () => {
    const res = await issue();
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.issuerId).toBe('sub');
    const der = Buffer.from(body.certificate, 'base64');
    const [sub, root] = body.chain.map((c: string) => Buffer.from(c, 'base64'));
    const findings = await lintCertificate(der, {
      issuer: sub,
      profile: 'person-sign',
      verifier: bed.device,
    });
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    const path = await validateChain(der, {
      trustAnchors: [root],
      intermediates: [sub],
      verifier: bed.device,
    });
    expect(path).toHaveLength(3);
    expect(Buffer.from(parseCertificate(der).serialNumber).toString('hex')).toBe(body.serial);
    const row = await bed.db.pool.query(
      'SELECT status, holder_key, der FROM certificates WHERE serial = $1',
      [body.serial],
    );
    expect(row.rows[0]).toMatchObject({ status: 'good', holder_key: 'resident-id:11010519491231002X' });
    expect(Buffer.compare(row.rows[0].der, der)).toBe(0);
  });

  it("ends a certificate without a requested validity by the issuing CA's notAfter, and refuses one asked beyond it", async () => {
    const res = await issue();
    expect(res.statusCode, res.body).toBe(200);
    const [cert, sub] = [res.json().certificate, res.json().chain[0]].map((b64: string) =>
      parseCertificate(Buffer.from(b64, 'base64')),
    );
    expect(cert!.notAfter.getTime()).toBe(sub!.notAfter.getTime());
    const beyond = await issue({ validityDays: 1826 });
    expect(beyond.statusCode).toBe(400);
    expect(beyond.json().error.code).toBe('VALIDITY_BEYOND_ISSUER');
  });

  it('passes OpenSSL: the end entity under the issuing CA with the GM default ID', async () => {
    const body = (await issue()).json();
    const dir = tempDir('ca-openssl-');
    // A body whose base64 fills its last line exactly must not end in a blank line: OpenSSL stops reading there.
    const pem = (b64: string) => derToPem(Buffer.from(b64, 'base64'), 'CERTIFICATE');
    writeFileSync(join(dir, 'ee.pem'), pem(body.certificate));
    writeFileSync(join(dir, 'sub.pem'), pem(body.chain[0]));
    // OpenSSL 3.0 applies -vfyopt distid to the target certificate only, so each link is checked on its own.
    const out = openssl(
      ['verify', '-vfyopt', gmDistId, '-partial_chain', '-CAfile', 'sub.pem', 'ee.pem'],
      dir,
    ).toString();
    expect(out).toContain('ee.pem: OK');
  });

  it('stores the certificate with its ledger answer, outbox row, notice and audit record at once', async () => {
    const listener = new pg.Client({ connectionString: bed.db.url });
    await listener.connect();
    const notices: Array<Record<string, string>> = [];
    listener.on('notification', (n) => notices.push(JSON.parse(n.payload ?? '{}')));
    await listener.query(`LISTEN ${statusChannel}`);
    try {
      const body = (await issue({ requestId: 'stored-request-01' })).json();
      const key = [body.issuerId, body.serial];
      const ledger = await bed.db.pool.query(
        "SELECT response FROM ca_requests WHERE request_id = 'stored-request-01'",
      );
      expect(ledger.rows[0].response).toEqual(body);
      const events = await bed.db.pool.query(
        'SELECT id, status FROM certificate_events WHERE issuer_id = $1 AND serial = $2',
        key,
      );
      expect(events.rows).toMatchObject([{ status: 'good' }]);
      const audit = await bed.db.pool.query(
        "SELECT actor, actor_role, after FROM audit_log WHERE action = 'certificate.issue' AND subject_id = $1",
        [key.join('/')],
      );
      expect(audit.rows).toEqual([
        {
          actor: 'ra',
          actor_role: 'ra_instruction',
          after: {
            profile: 'person-sign',
            template: 'person-sign',
            templateVersion: 1,
            requestId: 'stored-request-01',
          },
        },
      ]);
      await expect.poll(() => notices.length).toBe(1);
      expect(notices[0]).toEqual({
        id: String(events.rows[0].id),
        issuerId: body.issuerId,
        serial: body.serial,
        status: 'good',
      });
    } finally {
      await listener.end();
    }
  });

  it('returns the same certificate for the same request id, never a second one', async () => {
    const csr = await bed.holderCsr();
    const body = { operation: 'issue', profile: 'person-sign', csr, subject, requestId: 'same-request-0001' };
    const first = await bed.instruct('/v1/instructions/issue', body);
    const second = await bed.instruct('/v1/instructions/issue', body);
    expect(first.statusCode).toBe(200);
    expect(second.json()).toEqual(first.json());
    const count = await bed.db.pool.query(
      "SELECT count(*)::int AS n FROM certificates WHERE request_id = 'same-request-0001'",
    );
    expect(count.rows[0].n).toBe(1);
  });

  it('answers concurrent twins of one request with one certificate', async () => {
    const csr = await bed.holderCsr();
    const body = { operation: 'issue', profile: 'person-sign', csr, subject, requestId: 'twin-request-0001' };
    const answers = await Promise.all([1, 2, 3, 4].map(() => bed.instruct('/v1/instructions/issue', body)));
    expect(new Set(answers.map((a) => a.json().serial)).size).toBe(1);
    const count = await bed.db.pool.query(
      "SELECT count(*)::int AS n FROM certificates WHERE request_id = 'twin-request-0001'",
    );
    expect(count.rows[0].n).toBe(1);
  });

  it('refuses a request id reused for a different instruction', async () => {
    const body = {
      operation: 'issue',
      profile: 'person-sign',
      csr: await bed.holderCsr(),
      subject,
      requestId: 'reused-request-01',
    };
    expect((await bed.instruct('/v1/instructions/issue', body)).statusCode).toBe(200);
    const other = await bed.instruct('/v1/instructions/issue', { ...body, csr: await bed.holderCsr() });
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('REQUEST_ID_REUSED');
  });

  it('finishes a planned certificate left by a crash, with the same serial', async () => {
    const body = {
      operation: 'issue',
      profile: 'person-sign',
      csr: await bed.holderCsr(),
      subject,
      requestId: 'crashed-request-1',
    };
    const issued = (await bed.instruct('/v1/instructions/issue', body)).json();
    // Put the rows back as a crash between "planned" and "signed" leaves them.
    await bed.db.pool.query(
      "UPDATE certificates SET status = 'planned', der = NULL, issued_at = NULL WHERE serial = $1",
      [issued.serial],
    );
    await bed.db.pool.query("UPDATE ca_requests SET response = NULL WHERE request_id = 'crashed-request-1'");
    const retried = (await bed.instruct('/v1/instructions/issue', body)).json();
    expect(retried.serial).toBe(issued.serial);
    const row = await bed.db.pool.query('SELECT status FROM certificates WHERE serial = $1', [issued.serial]);
    expect(row.rows[0].status).toBe('good');
  });

  it('refuses an encryption certificate for a key the holder brought, and writes nothing', async () => {
    const res = await issue({ profile: 'person-encrypt', requestId: 'holder-encrypt-key-1' });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.code).toBe('ENCRYPTION_KEY_NOT_FROM_KM');
    const ledger = await bed.db.pool.query(
      "SELECT 1 FROM ca_requests WHERE request_id = 'holder-encrypt-key-1'",
    );
    expect(ledger.rowCount).toBe(0);
  });

  it("refuses an encryption twin for another kind of holder than the signature certificate's", async () => {
    const res = await issue({ encryption: { profile: 'organization-encrypt' } });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.code).toBe('ENCRYPTION_PROFILE_MISMATCH');
    const unknown = await issue({ encryption: { profile: 'person-sign' } });
    expect(unknown.json().error.code).toBe('INSTRUCTION_INVALID');
  });

  it('answers 503 KM_UNAVAILABLE while the KM is away, the encryption serial planned for the retry', async () => {
    const body = {
      operation: 'issue',
      profile: 'person-sign',
      csr: await bed.holderCsr(),
      subject,
      requestId: 'km-away-request-01',
      encryption: { profile: 'person-encrypt' },
    };
    const planned = async () =>
      (
        await bed.db.pool.query(
          "SELECT serial, enveloped_key FROM km_certificates WHERE request_id = 'km-away-request-01'",
        )
      ).rows;
    const first = await bed.instruct('/v1/instructions/issue', body);
    expect(first.statusCode, first.body).toBe(503);
    expect(first.json().error.code).toBe('KM_UNAVAILABLE');
    const [plan] = await planned();
    expect(plan).toMatchObject({ enveloped_key: null });
    const again = await bed.instruct('/v1/instructions/issue', body);
    expect(again.json().error.code).toBe('KM_UNAVAILABLE');
    expect(await planned()).toEqual([plan]);
    const ledger = await bed.db.pool.query(
      "SELECT serial, response FROM ca_requests WHERE request_id = 'km-away-request-01'",
    );
    expect(ledger.rows[0].response).toBeNull();
    const certificates = await bed.db.pool.query(
      "SELECT serial, status FROM certificates WHERE request_id = 'km-away-request-01'",
    );
    expect(certificates.rows).toEqual([{ serial: ledger.rows[0].serial, status: 'good' }]);
  });

  it('refuses instructions not signed by the RA key', async () => {
    await bed.device.generateKeyPair({ label: 'impostor', token: false });
    const res = await bed.instruct(
      '/v1/instructions/issue',
      { operation: 'issue', profile: 'person-sign', csr: await bed.holderCsr(), subject },
      { signer: bed.device.signer('impostor') },
    );
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('RA_SIGNATURE_INVALID');
  });

  it('refuses a body changed after signing, and a missing signature', async () => {
    const tampered = await bed.instruct(
      '/v1/instructions/issue',
      { operation: 'issue', profile: 'person-sign', csr: await bed.holderCsr(), subject },
      { raw: (b) => Buffer.from(b.toString().replace('person-sign', 'device-sign')) },
    );
    expect(tampered.json().error.code).toBe('RA_SIGNATURE_INVALID');
    const unsigned = await bed.app.inject({
      method: 'POST',
      url: '/v1/instructions/issue',
      payload: { operation: 'issue' },
    });
    expect(unsigned.statusCode).toBe(401);
    expect(unsigned.json().error.code).toBe('RA_SIGNATURE_MISSING');
  });

  it('refuses a stale instruction', async () => {
    const stale = new Date(Date.now() - 10 * 60 * 1000).toISOString();
    const res = await bed.instruct(
      '/v1/instructions/issue',
      { operation: 'issue', profile: 'person-sign', csr: await bed.holderCsr(), subject },
      { raw: (b) => Buffer.from(b.toString().replace(/"timestamp":"[^"]+"/, `"timestamp":"${stale}"`)) },
    );
    // Changing the timestamp breaks the signature; a correctly signed stale one is refused as stale.
    expect(res.json().error.code).toBe('RA_SIGNATURE_INVALID');
    const { signInstruction } = await import('@sm2ca/platform');
    const { payload, headers } = await signInstruction({ operation: 'issue' }, bed.raSigner);
    const old = JSON.parse(payload.toString());
    old.timestamp = stale;
    const oldPayload = Buffer.from(JSON.stringify(old));
    const signature = Buffer.from(await bed.raSigner.sign(oldPayload)).toString('base64');
    const staleRes = await bed.app.inject({
      method: 'POST',
      url: '/v1/instructions/issue',
      payload: oldPayload,
      headers: { ...headers, 'x-sm2ca-signature': signature },
    });
    expect(staleRes.statusCode).toBe(401);
    expect(staleRes.json().error.code).toBe('INSTRUCTION_STALE');
  });

  it('refuses a signed instruction whose timestamp is not an RFC 3339 date-time', async () => {
    const { signInstruction } = await import('@sm2ca/platform');
    const { payload, headers } = await signInstruction({ operation: 'issue' }, bed.raSigner);
    for (const timestamp of [new Date().toUTCString(), new Date().toISOString().replace('T', ' ')]) {
      const body = Buffer.from(JSON.stringify({ ...JSON.parse(payload.toString()), timestamp }));
      const signature = Buffer.from(await bed.raSigner.sign(body)).toString('base64');
      const res = await bed.app.inject({
        method: 'POST',
        url: '/v1/instructions/issue',
        payload: body,
        headers: { ...headers, 'x-sm2ca-signature': signature },
      });
      expect(res.statusCode, timestamp).toBe(400);
      expect(res.json().error.code).toBe('INSTRUCTION_MALFORMED');
    }
  });

  it('refuses a CSR whose proof of possession fails, with its code, and writes nothing', async () => {
    const csr = Buffer.from(await bed.holderCsr(), 'base64');
    csr[csr.length - 5]! ^= 0x01;
    const res = await bed.instruct('/v1/instructions/issue', {
      operation: 'issue',
      profile: 'person-sign',
      csr: csr.toString('base64'),
      subject,
      requestId: 'bad-csr-request-1',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toMatch(/^CSR_/);
    const ledger = await bed.db.pool.query(
      "SELECT 1 FROM ca_requests WHERE request_id = 'bad-csr-request-1'",
    );
    expect(ledger.rowCount).toBe(0);
  });

  it('refuses CA profiles and instructions outside the schema', async () => {
    const ca = await issue({ profile: 'sub-ca' });
    expect(ca.statusCode).toBe(400);
    expect(ca.json().error.code).toBe('PROFILE_NOT_REQUESTABLE');
    const extra = await issue({ admin: true });
    expect(extra.json().error.code).toBe('INSTRUCTION_INVALID');
  });

  it('refuses a subject the profile does not allow, before anything is stored', async () => {
    const res = await issue({ subject: [{ type: 'CN', value: 'no country' }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toMatch(/^PROFILE_/);
  });

  it('issues under a template of its own name as the kind its body names, and refuses it for another kind', async () => {
    const body = { ...templateOfProfile('person-sign', ['person']), kind: 'person-sign', validityDays: 200 };
    await bed.db.pool.query(
      `INSERT INTO certificate_templates (name, version, body, status, decided_at)
       VALUES ('staff-login', 1, $1, 'approved', now())`,
      [JSON.stringify(body)],
    );
    const res = await issue({ template: 'staff-login', templateVersion: 1 });
    expect(res.statusCode, res.body).toBe(200);
    const cert = parseCertificate(Buffer.from(res.json().certificate, 'base64'));
    expect((cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000).toBeLessThanOrEqual(200);
    const { rows } = await bed.db.pool.query('SELECT profile FROM certificates WHERE serial = $1', [
      res.json().serial,
    ]);
    expect(rows[0].profile).toBe('person-sign');

    const otherKind = await issue({ profile: 'operator-sign', template: 'staff-login', templateVersion: 1 });
    expect(otherKind.statusCode).toBe(422);
    expect(otherKind.json().error.code).toBe('TEMPLATE_KIND_MISMATCH');
    const unknown = await issue({ template: 'staff-logout', templateVersion: 1 });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().error.code).toBe('TEMPLATE_NOT_APPROVED');
  });
});
