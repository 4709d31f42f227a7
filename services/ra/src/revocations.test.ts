import { beforeAll, describe, expect, it } from 'vitest';
import { issuingCaId, useRaTestBed } from './test-support/ra-test-bed.ts';

const organisation = {
  commonName: '福州市某局',
  organization: '福州市人民政府',
  identity: { unifiedSocialCreditCode: '91350100M000100Y43' },
};

describe('RA revocations and certificate queries', () => {
  const bed = useRaTestBed();

  async function issueCertificate(): Promise<string> {
    const submitted = await bed.call('clerk', 'POST', '/v1/applications', {
      holderType: 'organisation',
      profile: 'organization-sign',
      holder: organisation,
      csr: bed.hierarchy.sm2Csr(),
      publishConsent: false,
    });
    const { id } = submitted.json();
    await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' });
    const issued = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(issued.statusCode, issued.body).toBe(201);
    return issued.json().serial;
  }

  const request = (serial: string, reason = 'keyCompromise') =>
    bed.call('clerk', 'POST', '/v1/revocations', {
      issuerId: issuingCaId,
      serial: serial.toUpperCase(),
      reason,
      requestedBy: '福州市某局 (the holder), by letter',
    });

  let serials: string[] = [];
  beforeAll(async () => {
    serials = [await issueCertificate(), await issueCertificate(), await issueCertificate()];
  });

  it('revokes on a second operator’s approval and records decision and CA confirmation times', async () => {
    const serial = serials[0]!;
    const created = await request(serial);
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json();
    expect(created.json()).toMatchObject({
      status: 'submitted',
      serial,
      enteredBy: 'op-clerk',
      decidedAt: null,
    });
    expect((await request(serial)).json().error.code).toBe('REVOCATION_PENDING');

    const own = await bed.call('clerk', 'POST', `/v1/revocations/${id}/review`, { decision: 'approve' });
    expect(own.json().error.code).toBe('ROLE_FORBIDDEN');
    const before = Date.now();
    const approved = await bed.call('reviewer', 'POST', `/v1/revocations/${id}/review`, {
      decision: 'approve',
    });
    expect(approved.statusCode, approved.body).toBe(200);
    const done = approved.json();
    expect(done).toMatchObject({ status: 'done', reviewedBy: 'op-reviewer' });
    expect(Date.parse(done.decidedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(done.doneAt)).toBeGreaterThanOrEqual(Date.parse(done.decidedAt));
    expect(bed.ca.received.at(-1)).toMatchObject({ operation: 'revoke', issuerId: issuingCaId, serial });

    const cert = await bed.call('reviewer', 'GET', `/v1/certificates/${issuingCaId}/${serial}`);
    expect(cert.json()).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect((await request(serial)).json().error.code).toBe('CERTIFICATE_ALREADY_REVOKED');
    const twice = await bed.call('reviewer2', 'POST', `/v1/revocations/${id}/review`, {
      decision: 'reject',
      reason: 'x',
    });
    expect(twice.statusCode).toBe(409);

    const audit = await bed.pool.query(
      "SELECT action, actor FROM audit_log WHERE subject_type = 'revocation_request' AND subject_id = $1 ORDER BY id",
      [id],
    );
    expect(audit.rows).toEqual([
      { action: 'revocation.submit', actor: 'op-clerk' },
      { action: 'revocation.approve', actor: 'op-reviewer' },
      { action: 'revocation.done', actor: 'op-reviewer' },
    ]);
  });

  it('refuses a review by the operator who entered the request', async () => {
    const { id } = (await request(serials[1]!, 'certificateHold')).json();
    await bed.pool.query('UPDATE revocation_requests SET entered_by = $2 WHERE id = $1', [
      id,
      bed.ids.reviewer,
    ]);
    const res = await bed.call('reviewer', 'POST', `/v1/revocations/${id}/review`, { decision: 'approve' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('SAME_OPERATOR');
    const rejected = await bed.call('reviewer2', 'POST', `/v1/revocations/${id}/review`, {
      decision: 'reject',
      reason: 'the letter is not signed',
    });
    expect(rejected.json()).toMatchObject({
      status: 'rejected',
      doneAt: null,
      reviewReason: 'the letter is not signed',
    });
  });

  it('keeps an approval whose CA call failed and completes it on retry with the same request id', async () => {
    const serial = serials[2]!;
    const { id } = (await request(serial, 'certificateHold')).json();
    bed.ca.failures.push('drop');
    const failed = await bed.call('reviewer', 'POST', `/v1/revocations/${id}/review`, {
      decision: 'approve',
    });
    expect(failed.statusCode).toBe(503);
    expect(failed.json().error).toMatchObject({
      code: 'CA_UNAVAILABLE',
      details: { revocationId: id, status: 'approved' },
    });
    const pending = (await bed.call('reviewer', 'GET', `/v1/revocations/${id}`)).json();
    expect(pending).toMatchObject({ status: 'approved', doneAt: null });
    expect(pending.decidedAt).not.toBeNull();

    expect((await bed.call('clerk', 'POST', `/v1/revocations/${id}/retry`)).json().error.code).toBe(
      'ROLE_FORBIDDEN',
    );
    const retried = await bed.call('maker', 'POST', `/v1/revocations/${id}/retry`);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({ status: 'done', decidedAt: pending.decidedAt });
    const [first, second] = bed.ca.received.slice(-2);
    expect(second!.requestId).toBe(first!.requestId);
    expect((await bed.call('maker', 'POST', `/v1/revocations/${id}/retry`)).json().error.code).toBe(
      'REVOCATION_NOT_APPROVED',
    );
    const listed = await bed.call('reviewer', 'GET', '/v1/revocations?status=done');
    expect(listed.json().items.map((r: { id: string }) => r.id)).toContain(id);
  });

  it('finds certificates by serial, holder and status', async () => {
    const bySerial = await bed.call(
      'reviewer',
      'GET',
      `/v1/certificates?serial=${serials[1]!.toUpperCase()}`,
    );
    expect(bySerial.json().items).toEqual([
      expect.objectContaining({ serial: serials[1], status: 'good', holderKey: 'uscc:91350100M000100Y43' }),
    ]);
    const byHolder = await bed.call('maker', 'GET', '/v1/certificates?holderKey=uscc:91350100M000100Y43');
    expect(byHolder.json().items).toHaveLength(3);
    // The holder key and subject are personal data: the business admin does not read them, and
    // every read by an operator is on record under the holder.
    expect((await bed.call('admin', 'GET', '/v1/certificates')).statusCode).toBe(403);
    const reads = await bed.pool.query(
      "SELECT actor, actor_role, after FROM audit_log WHERE action = 'holder.read' AND subject_id = 'uscc:91350100M000100Y43' ORDER BY id DESC LIMIT 1",
    );
    expect(reads.rows[0]).toMatchObject({
      actor: 'op-maker',
      actor_role: 'certificate_maker',
      after: { route: 'GET /v1/certificates', ids: expect.arrayContaining([`${issuingCaId}/${serials[1]}`]) },
    });
    const held = await bed.call('reviewer', 'GET', '/v1/certificates?status=hold');
    expect(held.json().items.map((c: { serial: string }) => c.serial)).toEqual([serials[2]]);
    const missing = await bed.call('reviewer', 'GET', `/v1/certificates/${issuingCaId}/abcdef`);
    expect(missing.statusCode).toBe(404);
    expect((await bed.call(undefined, 'GET', '/v1/certificates')).statusCode).toBe(401);
    expect((await request('abcdef')).json().error.code).toBe('CERTIFICATE_NOT_FOUND');
  });

  it('refuses the hierarchy’s own certificates at entry, at approval and on retry', async () => {
    // As the key ceremony records them: the RA's own certificate has an end-entity profile,
    // only the issuers table tells it apart from a holder's device certificate.
    const { rows: issuers } = await bed.pool.query('SELECT id, parent_id, certificate FROM issuers');
    const der = (id: string) => issuers.find((i) => i.id === id)!.certificate as Buffer;
    const hierarchy = [
      { serial: 'a1', issuer: 'test-root', profile: 'root-ca', der: der('test-root') },
      { serial: 'a2', issuer: 'test-root', profile: 'sub-ca', der: der(issuingCaId) },
      { serial: 'a3', issuer: 'test-root', profile: 'device-sign', der: der('test-ra') },
      { serial: 'a4', issuer: issuingCaId, profile: 'ocsp-signer', der: Buffer.from('ocsp signer') },
    ];
    for (const c of hierarchy) {
      await bed.pool.query(
        `INSERT INTO certificates (issuer_id, serial, status, profile, subject, tbs, der, not_before, not_after,
                                   request_id, issued_at)
         VALUES ($1, $2, 'good', $3, 'CN=x', $4, $4, now(), now() + interval '30 days', $5, now())`,
        [c.issuer, c.serial, c.profile, c.der, `ceremony:${c.serial}`],
      );
      const res = await bed.call('clerk', 'POST', '/v1/revocations', {
        issuerId: c.issuer,
        serial: c.serial,
        reason: 'keyCompromise',
        requestedBy: 'someone',
      });
      expect(res.statusCode, `${c.profile}: ${res.body}`).toBe(422);
      expect(res.json().error.code).toBe('NOT_END_ENTITY');
    }

    const sent = bed.ca.received.length;
    const entered = async (status: 'submitted' | 'approved') => {
      const { rows } = await bed.pool.query(
        `INSERT INTO revocation_requests (status, issuer_id, serial, reason, requested_by, entered_by,
                                          reviewed_by, ca_request_id)
         VALUES ($1, 'test-root', 'a3', 'keyCompromise', 'someone', $2, $3, $4) RETURNING id`,
        status === 'approved'
          ? [status, bed.ids.clerk, bed.ids.reviewer, 'f0d1a2b3-0000-4000-8000-000000000001']
          : [status, bed.ids.clerk, null, null],
      );
      return String(rows[0].id);
    };
    const submitted = await entered('submitted');
    const approve = await bed.call('reviewer', 'POST', `/v1/revocations/${submitted}/review`, {
      decision: 'approve',
    });
    expect(approve.statusCode).toBe(422);
    expect(approve.json().error.code).toBe('NOT_END_ENTITY');
    expect((await bed.call('reviewer', 'GET', `/v1/revocations/${submitted}`)).json().status).toBe(
      'submitted',
    );
    const rejected = await bed.call('reviewer', 'POST', `/v1/revocations/${submitted}/review`, {
      decision: 'reject',
      reason: 'the RA certificate is the administrators’ business',
    });
    expect(rejected.json().status).toBe('rejected');

    const approved = await entered('approved');
    const retry = await bed.call('maker', 'POST', `/v1/revocations/${approved}/retry`);
    expect(retry.statusCode).toBe(422);
    expect(retry.json().error.code).toBe('NOT_END_ENTITY');
    expect(bed.ca.received.length).toBe(sent);
    const { rows } = await bed.pool.query(
      "SELECT DISTINCT status FROM certificates WHERE request_id LIKE 'ceremony:%'",
    );
    expect(rows).toEqual([{ status: 'good' }]);
  });

  it('answers input PostgreSQL cannot take with 400, not 500', async () => {
    for (const url of ['/v1/revocations', '/v1/applications', '/v1/certificates']) {
      for (const query of ['offset=9223372036854775808', `offset=${2 ** 31}`, 'offset=1e400']) {
        const res = await bed.call('reviewer', 'GET', `${url}?${query}`);
        expect(res.statusCode, `${url}?${query}`).toBe(400);
        expect(res.json().error.code).toBe('REQUEST_INVALID');
      }
      expect((await bed.call('reviewer', 'GET', `${url}?offset=${2 ** 31 - 1}`)).statusCode).toBe(200);
    }
    const nul = [
      await bed.call('reviewer', 'GET', '/v1/certificates?issuerId=a%00b'),
      await bed.call('reviewer', 'GET', `/v1/certificates/a%00b/${serials[0]}`),
      await bed.call('clerk', 'POST', '/v1/revocations', {
        issuerId: issuingCaId,
        serial: serials[0],
        reason: 'superseded',
        requestedBy: 'the holder\u0000',
      }),
    ];
    for (const res of nul) {
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error.code).toBe('INVALID_CHARACTER');
    }
  });

  it('describes every route in the OpenAPI document', async () => {
    const docs = (await bed.call(undefined, 'GET', '/docs/json')).json();
    expect(Object.keys(docs.paths)).toEqual(
      expect.arrayContaining([
        '/v1/applications',
        '/v1/applications/{id}/review',
        '/v1/applications/{id}/issue',
        '/v1/download',
        '/v1/revocations/{id}/retry',
        '/v1/certificates/{issuerId}/{serial}',
      ]),
    );
  });
});
