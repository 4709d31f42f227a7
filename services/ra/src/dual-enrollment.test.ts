import { buildCsr, decodeCsrResponse, type TemplateBody, templateOfProfile } from '@sm2ca/pki';
import smCrypto from 'sm-crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SmCryptoSigner } from '../../../test/support/sm-crypto-signer.ts';
import { issuingCaId, useRaTestBed } from './test-support/ra-test-bed.ts';

const person = { commonName: '李四', identity: { residentId: '11010519491231002X' } };
const HOUR_MS = 3600 * 1000;

/** A holder's signature key pair and its request, made by sm-crypto as a holder's own tool would. */
async function holderCsr(): Promise<string> {
  const { privateKey, publicKey } = smCrypto.sm2.generateKeyPairHex();
  const csr = await buildCsr(
    { subject: [{ type: 'CN', value: 'holder' }], publicKey: Buffer.from(publicKey, 'hex') },
    new SmCryptoSigner(privateKey, publicKey),
  );
  return Buffer.from(csr).toString('base64');
}

describe('RA dual enrollment', () => {
  const bed = useRaTestBed();

  const submit = async (overrides: Record<string, unknown> = {}) =>
    bed.call('clerk', 'POST', '/v1/applications', {
      holderType: 'person',
      profile: 'person-sign',
      holder: person,
      csr: await holderCsr(),
      publishConsent: true,
      dual: true,
      ...overrides,
    });

  async function approved(): Promise<string> {
    const submitted = await submit();
    expect(submitted.statusCode, submitted.body).toBe(201);
    const { id } = submitted.json();
    const review = await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, {
      decision: 'approve',
    });
    expect(review.statusCode, review.body).toBe(200);
    return id;
  }

  async function issued() {
    const id = await approved();
    const res = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(res.statusCode, res.body).toBe(201);
    return { ...res.json(), id } as {
      id: string;
      serial: string;
      encryption: { serial: string };
      download: { reference: string; code: string };
    };
  }

  const download = (reference: string, code: string, format: string) =>
    bed.call(undefined, 'POST', '/v1/download', { reference, code, format });

  const certificateDer = async (serial: string) =>
    (await bed.pool.query('SELECT der FROM certificates WHERE serial = $1', [serial])).rows[0].der as Buffer;

  it('refuses an encryption profile on the holder’s own key and points to dual', async () => {
    for (const [holderType, profile, holder] of [
      ['person', 'person-encrypt', person],
      ['device', 'device-encrypt', { commonName: 'gw.example.cn', organization: 'Example' }],
    ] as const) {
      for (const dual of [false, true]) {
        const res = await submit({ holderType, profile, holder, dual });
        expect(res.statusCode, res.body).toBe(422);
        expect(res.json().error).toMatchObject({
          code: 'ENCRYPTION_KEY_NOT_FROM_KM',
          details: { profile, use: { profile: profile.replace('encrypt', 'sign'), dual: true } },
        });
        expect(res.json().error.message).toContain('dual');
      }
    }
    const tls = await submit({
      holderType: 'device',
      profile: 'tls-server',
      holder: { commonName: 'www.example.cn', organization: 'Example', dnsNames: ['www.example.cn'] },
    });
    expect(tls.statusCode, tls.body).toBe(422);
    expect(tls.json().error.code).toBe('DUAL_NOT_AVAILABLE');
  });

  it('refuses a signature template whose twin is of another kind or shorter-lived, and enters nothing', async () => {
    const seed = (name: string, body: TemplateBody) =>
      bed.pool.query(
        `INSERT INTO certificate_templates (name, version, body, status, decided_at)
         VALUES ($1, 1, $2, 'approved', now())`,
        [name, JSON.stringify(body)],
      );
    const sign = { ...templateOfProfile('person-sign', ['person']), kind: 'person-sign' as const };
    await seed('short-encrypt', {
      ...templateOfProfile('person-encrypt', ['person']),
      kind: 'person-encrypt',
      validityDays: 100,
    });
    await seed('short-twin-sign', { ...sign, validityDays: 365, encryptionTemplate: 'short-encrypt' });
    await seed('device-twin-sign', { ...sign, encryptionTemplate: 'device-encrypt' });
    const count = async () => (await bed.pool.query('SELECT count(*)::int AS n FROM applications')).rows[0].n;
    const before = await count();
    const short = await submit({ template: 'short-twin-sign' });
    expect(short.statusCode, short.body).toBe(422);
    expect(short.json().error.code).toBe('TEMPLATE_TWIN_VALIDITY');
    const device = await submit({ template: 'device-twin-sign' });
    expect(device.statusCode, device.body).toBe(422);
    expect(device.json().error.code).toBe('TEMPLATE_TWIN_KIND');
    expect(await count()).toBe(before);
    // Without a twin the template is usable on its own.
    const single = await submit({ template: 'short-twin-sign', dual: false });
    expect(single.statusCode, single.body).toBe(201);
    expect(single.json()).toMatchObject({
      template: 'short-twin-sign',
      templateVersion: 1,
      encryption: null,
    });
  });

  it('issues both certificates from one review and one instruction, and shows both', async () => {
    const submitted = await submit();
    expect(submitted.json()).toMatchObject({
      dual: true,
      encryption: {
        profile: 'person-encrypt',
        template: 'person-encrypt',
        templateVersion: 1,
        issuerId: null,
        serial: null,
      },
    });
    const single = await submit({ dual: undefined });
    expect(single.json()).toMatchObject({ dual: false, encryption: null });

    const { id, serial, encryption } = await issued();
    const sent = bed.ca.received.at(-1)!;
    // The seeded templates are not named: the instruction reads as before templates had names.
    expect(sent).toMatchObject({
      operation: 'issue',
      profile: 'person-sign',
      templateVersion: 1,
      encryption: { profile: 'person-encrypt' },
    });
    expect(sent).not.toHaveProperty('template');
    expect(sent).not.toHaveProperty('encryption.template');
    expect(sent).not.toHaveProperty('encryption.templateVersion');
    expect(encryption.serial).toMatch(/^[0-9a-f]+$/);
    expect(encryption.serial).not.toBe(serial);

    const view = await bed.call('reviewer', 'GET', `/v1/applications/${id}`);
    expect(view.json()).toMatchObject({
      status: 'issued',
      dual: true,
      issuerId: issuingCaId,
      serial,
      encryption: { profile: 'person-encrypt', issuerId: issuingCaId, serial: encryption.serial },
    });
    const signature = await bed.call('reviewer', 'GET', `/v1/certificates/${issuingCaId}/${serial}`);
    expect(signature.json()).toMatchObject({ applicationId: id, twinSerial: encryption.serial });
    const twin = await bed.call('reviewer', 'GET', `/v1/certificates/${issuingCaId}/${encryption.serial}`);
    expect(twin.json()).toMatchObject({
      applicationId: id,
      profile: 'person-encrypt',
      holderKey: 'resident-id:11010519491231002X',
      twinSerial: serial,
    });
    const audit = await bed.pool.query(
      "SELECT after FROM audit_log WHERE action = 'application.issue' AND subject_id = $1",
      [id],
    );
    expect(audit.rows[0].after).toMatchObject({ serial, encryptionSerial: encryption.serial });
    expect(JSON.stringify(audit.rows[0].after)).not.toContain('envelope');
  });

  it('hands the holder both certificates, the chain, the enveloped key and the GM/T 0092 CSRResponse', async () => {
    const { id, serial, encryption, download: code } = await issued();
    const pem = await download(code.reference, code.code, 'pem');
    expect(pem.statusCode, pem.body).toBe(422);
    expect(pem.json().error).toMatchObject({
      code: 'DOWNLOAD_FORMAT_UNSUITED',
      details: { formats: ['der', 'csr-response'] },
    });

    const res = await download(code.reference, code.code, 'der');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const km = bed.ca.kmKeys.at(-1)!;
    expect(body).toMatchObject({ issuerId: issuingCaId, serial, encryption: { serial: encryption.serial } });
    expect(body.chain).toEqual([bed.hierarchy.issuing, bed.hierarchy.root].map((c) => c.toString('base64')));
    expect(Buffer.from(body.certificate, 'base64')).toEqual(await certificateDer(serial));
    expect(Buffer.from(body.encryption.certificate, 'base64')).toEqual(
      await certificateDer(encryption.serial),
    );
    expect(Buffer.from(body.encryption.envelopedKey, 'base64')).toEqual(km.envelopedKey);
    const decoded = decodeCsrResponse(Buffer.from(body.csrResponse, 'base64'));
    expect(Buffer.from(decoded.signCertificate)).toEqual(await certificateDer(serial));
    expect(Buffer.from(decoded.encryptCertificate!)).toEqual(await certificateDer(encryption.serial));
    expect(Buffer.from(decoded.envelopedKey!)).toEqual(km.envelopedKey);
    expect((await download(code.reference, code.code, 'der')).statusCode).toBe(410);

    const again = await bed.call('maker', 'POST', `/v1/applications/${id}/download-code`);
    const fresh = again.json();
    const der = await download(fresh.reference, fresh.code, 'csr-response');
    expect(der.statusCode, der.body).toBe(200);
    expect(der.headers['content-type']).toBe('application/vnd.sm2ca.csr-response+der');
    expect(der.headers['content-disposition']).toContain(`${fresh.reference}.csr-response.der`);
    expect(der.rawPayload).toEqual(Buffer.from(body.csrResponse, 'base64'));
  });

  it('gives a single application’s holder a CSRResponse with the signature certificate alone', async () => {
    const submitted = await submit({ dual: false });
    const { id } = submitted.json();
    await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' });
    const issue = (await bed.call('maker', 'POST', `/v1/applications/${id}/issue`)).json();
    expect(issue.encryption).toBeUndefined();
    expect(bed.ca.received.at(-1)!.encryption).toBeUndefined();
    const res = await download(issue.download.reference, issue.download.code, 'csr-response');
    expect(res.statusCode, res.body).toBe(200);
    const decoded = decodeCsrResponse(res.rawPayload);
    expect(Buffer.from(decoded.signCertificate)).toEqual(await certificateDer(issue.serial));
    expect(decoded.envelopedKey).toBeUndefined();
    expect(decoded.encryptCertificate).toBeUndefined();
  });

  it('lets the retrier complete both certificates under the request id the maker claimed', async () => {
    const id = await approved();
    bed.ca.failures.push('drop');
    const failed = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(failed.statusCode).toBe(503);
    const claimed = bed.ca.received.at(-1)!;
    expect(await bed.retrier().runOnce(new Date(Date.now() + HOUR_MS))).toBe(1);
    const retried = bed.ca.received.at(-1)!;
    expect(retried).toMatchObject({
      requestId: claimed.requestId,
      encryption: { profile: 'person-encrypt' },
    });
    const view = (await bed.call('reviewer', 'GET', `/v1/applications/${id}`)).json();
    expect(view).toMatchObject({
      status: 'issued',
      encryption: { serial: expect.stringMatching(/^[0-9a-f]+$/) },
    });
    const stored = await bed.pool.query('SELECT enveloped_key FROM applications WHERE id = $1', [id]);
    expect(stored.rows[0].enveloped_key).toEqual(bed.ca.kmKeys.at(-1)!.envelopedKey);
  });

  describe('twin revocation', () => {
    let pair: { serial: string; encryption: { serial: string } };
    beforeAll(async () => {
      pair = await issued();
    });

    const request = (serial: string, includeTwin?: boolean) =>
      bed.call('clerk', 'POST', '/v1/revocations', {
        issuerId: issuingCaId,
        serial,
        reason: 'keyCompromise',
        requestedBy: 'the holder, in person',
        ...(includeTwin === undefined ? {} : { includeTwin }),
      });

    it('offers the twin, and revokes both in one reviewed request with an instruction each', async () => {
      const offered = await request(pair.serial);
      expect(offered.statusCode, offered.body).toBe(201);
      expect(offered.json().twin).toEqual({
        issuerId: issuingCaId,
        serial: pair.encryption.serial,
        included: false,
        doneAt: null,
      });
      await bed.call('reviewer', 'POST', `/v1/revocations/${offered.json().id}/review`, {
        decision: 'reject',
        reason: 'the clerk will enter it with the twin',
      });

      const both = await request(pair.serial, true);
      expect(both.statusCode, both.body).toBe(201);
      const { id } = both.json();
      expect(both.json().twin).toMatchObject({ serial: pair.encryption.serial, included: true });
      const twinAlone = await request(pair.encryption.serial);
      expect(twinAlone.statusCode).toBe(409);
      expect(twinAlone.json().error).toMatchObject({
        code: 'REVOCATION_PENDING',
        details: { revocationId: id },
      });

      const sentBefore = bed.ca.received.length;
      const done = await bed.call('reviewer', 'POST', `/v1/revocations/${id}/review`, {
        decision: 'approve',
      });
      expect(done.statusCode, done.body).toBe(200);
      expect(done.json()).toMatchObject({
        status: 'done',
        twin: { serial: pair.encryption.serial, included: true, doneAt: expect.any(String) },
      });
      const instructions = bed.ca.received.slice(sentBefore);
      expect(instructions.map((i) => [i.operation, i.serial, i.reason])).toEqual([
        ['revoke', pair.serial, 'keyCompromise'],
        ['revoke', pair.encryption.serial, 'keyCompromise'],
      ]);
      expect(instructions[0]!.requestId).not.toBe(instructions[1]!.requestId);
      const statuses = await bed.pool.query(
        'SELECT serial, status FROM certificates WHERE serial = ANY($1)',
        [[pair.serial, pair.encryption.serial]],
      );
      expect(statuses.rows.map((r) => r.status)).toEqual(['revoked', 'revoked']);
    });

    it('keeps a request approved until the twin’s instruction is confirmed, and retries only that one', async () => {
      const other = await issued();
      const created = await request(other.encryption.serial, true);
      expect(created.json().twin).toMatchObject({ serial: other.serial, included: true });
      const { id } = created.json();
      const sentBefore = bed.ca.received.length;
      // The CA answers the first instruction and drops the connection of the twin's.
      bed.ca.failures.push('pass', 'drop');
      const reviewed = await bed.call('reviewer', 'POST', `/v1/revocations/${id}/review`, {
        decision: 'approve',
      });
      expect(reviewed.statusCode).toBe(503);
      expect(reviewed.json().error.details).toMatchObject({ status: 'approved', serial: other.serial });
      const pending = (await bed.call('reviewer', 'GET', `/v1/revocations/${id}`)).json();
      expect(pending).toMatchObject({ status: 'approved', doneAt: null, twin: { doneAt: null } });

      const retried = await bed.call('maker', 'POST', `/v1/revocations/${id}/retry`);
      expect(retried.statusCode, retried.body).toBe(200);
      expect(retried.json()).toMatchObject({ status: 'done', twin: { doneAt: expect.any(String) } });
      const serials = bed.ca.received.slice(sentBefore).map((i) => i.serial);
      expect(serials).toEqual([other.encryption.serial, other.serial, other.serial]);
      const audit = await bed.pool.query(
        "SELECT action FROM audit_log WHERE subject_type = 'revocation_request' AND subject_id = $1 ORDER BY id",
        [id],
      );
      expect(audit.rows.map((r) => r.action)).toEqual([
        'revocation.submit',
        'revocation.approve',
        'revocation.certificate_done',
        'revocation.done',
      ]);
    });

    it('refuses includeTwin for a certificate without a twin', async () => {
      const submitted = await submit({ dual: false });
      const { id } = submitted.json();
      await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' });
      const { serial } = (await bed.call('maker', 'POST', `/v1/applications/${id}/issue`)).json();
      const alone = await request(serial);
      expect(alone.json().twin).toBeNull();
      await bed.call('reviewer', 'POST', `/v1/revocations/${alone.json().id}/review`, {
        decision: 'reject',
        reason: 'entered twice',
      });
      const res = await request(serial, true);
      expect(res.statusCode).toBe(422);
      expect(res.json().error.code).toBe('CERTIFICATE_HAS_NO_TWIN');
    });
  });
});
