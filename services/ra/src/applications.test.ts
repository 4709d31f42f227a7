import { describe, expect, it } from 'vitest';
import { maxFailedAttempts } from './download-codes.ts';
import { issuingCaId, type StaffMember, useRaTestBed } from './test-support/ra-test-bed.ts';

const person = {
  commonName: '张三',
  email: 'zhang.san@example.cn',
  identity: { residentId: '11010519491231002X' },
};

describe('RA enrollment', () => {
  const bed = useRaTestBed();

  async function submit(overrides: Record<string, unknown> = {}, who: StaffMember = 'clerk') {
    const res = await bed.call(who, 'POST', '/v1/applications', {
      holderType: 'person',
      profile: 'person-sign',
      holder: person,
      csr: bed.hierarchy.sm2Csr(),
      publishConsent: true,
      ...overrides,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; status: string; holderKey: string; deadline: string };
  }

  async function approved(who: StaffMember = 'clerk') {
    const { id } = await submit({}, who);
    const res = await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' });
    expect(res.statusCode, res.body).toBe(200);
    return id;
  }

  async function issued() {
    const id = await approved();
    const res = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { serial: string; download: { reference: string; code: string; expiresAt: string } };
  }

  const download = (reference: string, code: string, format: 'pem' | 'der' = 'pem') =>
    bed.call(undefined, 'POST', '/v1/download', { reference, code, format });

  it('takes an application from submission to a one-time download, in PEM and DER', async () => {
    const submitted = await submit();
    expect(submitted).toMatchObject({
      status: 'submitted',
      holderKey: 'resident-id:11010519491231002X',
      enteredBy: 'op-clerk',
      overdue: false,
    });
    expect(Date.parse(submitted.deadline)).toBeGreaterThan(Date.now() + 24 * 3600 * 1000);

    const review = await bed.call('reviewer', 'POST', `/v1/applications/${submitted.id}/review`, {
      decision: 'approve',
    });
    expect(review.json()).toMatchObject({ status: 'approved', reviewedBy: 'op-reviewer' });

    const issue = await bed.call('maker', 'POST', `/v1/applications/${submitted.id}/issue`);
    expect(issue.statusCode, issue.body).toBe(201);
    const { serial, download: code } = issue.json();
    expect(code.reference).toMatch(/^\d{12}$/);
    expect(code.code).toMatch(/^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/);
    expect(Date.parse(code.expiresAt) - Date.now()).toBeGreaterThan(6.9 * 24 * 3600 * 1000);

    const sent = bed.ca.received.at(-1)!;
    const stored = await bed.pool.query(
      'SELECT ca_request_id, status, serial FROM applications WHERE id = $1',
      [submitted.id],
    );
    expect(stored.rows[0]).toMatchObject({ ca_request_id: sent.requestId, status: 'issued', serial });
    expect(sent).toMatchObject({
      operation: 'issue',
      profile: 'person-sign',
      subject: [
        { type: 'C', value: 'CN' },
        { type: 'CN', value: '张三' },
      ],
      identity: { residentId: '11010519491231002X' },
      subjectAltNames: { email: ['zhang.san@example.cn'] },
    });
    const digest = await bed.pool.query('SELECT code_digest FROM download_codes WHERE reference = $1', [
      code.reference,
    ]);
    expect(digest.rows[0].code_digest.toString('latin1')).not.toContain(code.code.slice(0, 4));

    const pem = await download(code.reference, code.code.toLowerCase().replaceAll('-', ' '));
    expect(pem.statusCode, pem.body).toBe(200);
    expect(pem.headers['content-type']).toMatch(/^application\/pem-certificate-chain/);
    expect(pem.body.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(3);
    expect(bed.hierarchy.verifyChain(pem.body)).toEqual(['chain0.pem: OK', 'chain1.pem: OK']);

    const again = await download(code.reference, code.code);
    expect(again.statusCode).toBe(410);
    expect(again.json().error.code).toBe('DOWNLOAD_CODE_USED');

    const fresh = await bed.call('maker', 'POST', `/v1/applications/${submitted.id}/download-code`);
    expect(fresh.statusCode, fresh.body).toBe(201);
    const der = await download(fresh.json().reference, fresh.json().code, 'der');
    expect(der.statusCode, der.body).toBe(200);
    const body = der.json();
    const cert = await bed.pool.query('SELECT der FROM certificates WHERE serial = $1', [serial]);
    expect(body).toMatchObject({ issuerId: issuingCaId, serial });
    expect(Buffer.from(body.certificate, 'base64').equals(cert.rows[0].der)).toBe(true);
    expect(body.chain.map((c: string) => Buffer.from(c, 'base64'))).toEqual([
      bed.hierarchy.issuing,
      bed.hierarchy.root,
    ]);

    const audit = await bed.pool.query(
      `SELECT actor, actor_role, action FROM audit_log
        WHERE (subject_type = 'application' AND subject_id = $1) OR subject_id IN ($2, $3) ORDER BY id`,
      [submitted.id, code.reference, fresh.json().reference],
    );
    expect(audit.rows.map((r) => `${r.action} by ${r.actor} (${r.actor_role})`)).toEqual([
      'application.submit by op-clerk (entry_clerk)',
      'application.approve by op-reviewer (reviewer)',
      'application.issue_request by op-maker (certificate_maker)',
      'application.issue by op-maker (certificate_maker)',
      'download_code.create by op-maker (certificate_maker)',
      `download_code.use by holder:${code.reference} (holder)`,
      'download_code.create by op-maker (certificate_maker)',
      `download_code.use by holder:${fresh.json().reference} (holder)`,
    ]);
  });

  it('separates entry from review and refuses steps out of order', async () => {
    const { id } = await submit();
    const own = await bed.call('clerk', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' });
    expect(own.json().error.code).toBe('ROLE_FORBIDDEN');

    const early = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('APPLICATION_NOT_APPROVED');

    const noReason = await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, {
      decision: 'reject',
    });
    expect(noReason.json().error.code).toBe('REVIEW_REASON_REQUIRED');
    const rejected = await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, {
      decision: 'reject',
      reason: 'identity document expired',
    });
    expect(rejected.json()).toMatchObject({ status: 'rejected', reviewReason: 'identity document expired' });
    const twice = await bed.call('reviewer2', 'POST', `/v1/applications/${id}/review`, {
      decision: 'approve',
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('APPLICATION_ALREADY_REVIEWED');
  });

  it('refuses a review by the operator who entered the application, backed by the database', async () => {
    // A reviewer may enter an application only through a route they cannot reach, so enter it as one directly.
    const { id } = await submit();
    await bed.pool.query('UPDATE applications SET entered_by = $2 WHERE id = $1', [id, bed.ids.reviewer]);
    const res = await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('SAME_OPERATOR');
    await expect(
      bed.pool.query('UPDATE applications SET reviewed_by = entered_by WHERE id = $1', [id]),
    ).rejects.toMatchObject({ code: '23514' });
    const audit = await bed.pool.query(
      "SELECT count(*)::int AS n FROM audit_log WHERE subject_type = 'application' AND subject_id = $1",
      [id],
    );
    expect(audit.rows[0].n).toBe(1);
  });

  it('lets each role do only its own steps', async () => {
    const id = await approved();
    const forbidden: Array<[StaffMember, 'GET' | 'POST', string, object?]> = [
      ['reviewer', 'POST', '/v1/applications', {}],
      ['maker', 'POST', '/v1/applications', {}],
      ['auditor', 'POST', '/v1/applications', {}],
      ['admin', 'POST', '/v1/applications', {}],
      ['maker', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' }],
      ['auditor', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' }],
      ['reviewer', 'POST', `/v1/applications/${id}/issue`],
      ['clerk', 'POST', `/v1/applications/${id}/issue`],
      ['admin', 'POST', `/v1/applications/${id}/download-code`],
    ];
    for (const [who, method, url, body] of forbidden) {
      const res = await bed.call(who, method, url, body);
      expect(res.statusCode, `${who} ${url}`).toBe(403);
      expect(res.json().error.code).toBe('ROLE_FORBIDDEN');
    }
    const anonymous = await bed.call(undefined, 'GET', `/v1/applications/${id}`);
    expect(anonymous.json().error.code).toBe('AUTH_REQUIRED');
    for (const who of ['clerk', 'reviewer', 'maker'] as const) {
      expect((await bed.call(who, 'GET', `/v1/applications/${id}`)).json().status).toBe('approved');
    }
    const reads = await bed.pool.query(
      "SELECT actor, actor_role FROM audit_log WHERE action = 'holder.read' AND after->'ids' ? $1 ORDER BY id",
      [id],
    );
    expect(reads.rows.slice(-3)).toEqual([
      { actor: 'op-clerk', actor_role: 'entry_clerk' },
      { actor: 'op-reviewer', actor_role: 'reviewer' },
      { actor: 'op-maker', actor_role: 'certificate_maker' },
    ]);
    // Holder identity is personal data: administrators and the auditor do not read it.
    for (const who of ['auditor', 'admin', 'superAdmin', 'auditAdmin', 'keyAdmin'] as const) {
      const res = await bed.call(who, 'GET', `/v1/applications/${id}`);
      expect(res.json().error.code, who).toBe('ROLE_FORBIDDEN');
    }
  });

  it('refuses bad CSRs and bad holder data with stable codes and writes nothing', async () => {
    const before = await bed.pool.query('SELECT count(*)::int AS n FROM applications');
    const good = Buffer.from(
      bed.hierarchy
        .sm2Csr()
        .replace(/-----[A-Z ]+-----/g, '')
        .replace(/\s+/g, ''),
      'base64',
    );
    const badSignature = Buffer.from(good);
    badSignature[badSignature.length - 1]! ^= 0x01;
    const p256 = bed.hierarchy.p256Csr();
    // ecdsa-with-SHA256 and SM2-with-SM3 OIDs have the same length: a P-256 key claiming an SM2 signature.
    const ecdsaOid = Buffer.from('06082a8648ce3d040302', 'hex');
    const sm2Oid = Buffer.from('06082a811ccf55018375', 'hex');
    const i = p256.indexOf(ecdsaOid);
    const p256AsSm2 = Buffer.concat([p256.subarray(0, i), sm2Oid, p256.subarray(i + ecdsaOid.length)]);
    const cases: Array<[string, Record<string, unknown>]> = [
      ['CSR_BAD_SIGNATURE', { csr: badSignature.toString('base64') }],
      ['CSR_WRONG_ALGORITHM', { csr: p256.toString('base64') }],
      ['CSR_UNSUPPORTED_CURVE', { csr: p256AsSm2.toString('base64') }],
      ['CSR_MALFORMED', { csr: Buffer.from('not a request').toString('base64') }],
      ['CSR_MALFORMED', { csr: 'not base64!' }],
      [
        'CSR_MALFORMED',
        { csr: '-----BEGIN NEW CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----' },
      ],
      ['IDENTITY_INVALID', { holder: { ...person, identity: { residentId: '110105194912310021' } } }],
      ['PROFILE_NOT_FOR_HOLDER', { profile: 'tls-server' }],
      ['REQUEST_INVALID', { profile: 'root-ca' }],
      ['REQUEST_INVALID', { holderType: 'robot' }],
    ];
    for (const [code, overrides] of cases) {
      const res = await bed.call('clerk', 'POST', '/v1/applications', {
        holderType: 'person',
        profile: 'person-sign',
        holder: person,
        csr: good.toString('base64'),
        publishConsent: false,
        ...overrides,
      });
      expect(res.statusCode, code).toBe(400);
      expect(res.json().error.code).toBe(code);
    }
    const after = await bed.pool.query('SELECT count(*)::int AS n FROM applications');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('counts wrong codes, locks the reference after five and refuses expired codes', async () => {
    const { download: code } = await issued();
    const unknown = await download('000000000000', code.code);
    expect(unknown.statusCode).toBe(403);
    expect(unknown.json().error.code).toBe('DOWNLOAD_CODE_INVALID');
    for (let attempt = 1; attempt <= maxFailedAttempts; attempt++) {
      const res = await download(code.reference, 'AAAA-BBBB-CCCC-DDDD');
      // A known reference answers a wrong code exactly as an unknown one: nothing to probe.
      expect(res.statusCode).toBe(403);
      expect(res.body).toBe(unknown.body);
    }
    const lockedWrong = await download(code.reference, 'AAAA-BBBB-CCCC-DDDD');
    expect(lockedWrong.body).toBe(unknown.body);
    // Only who holds the right code learns the reference is locked.
    const locked = await download(code.reference, code.code);
    expect(locked.statusCode).toBe(403);
    expect(locked.json().error.code).toBe('DOWNLOAD_CODE_LOCKED');

    const { download: other } = await issued();
    await bed.pool.query(
      "UPDATE download_codes SET expires_at = now() - interval '1 second' WHERE reference = $1",
      [other.reference],
    );
    const expired = await download(other.reference, other.code);
    expect(expired.statusCode).toBe(410);
    expect(expired.json().error.code).toBe('DOWNLOAD_CODE_EXPIRED');
    const failures = await bed.pool.query(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'download_code.fail' AND subject_id = $1",
      [code.reference],
    );
    expect(failures.rows[0].n).toBe(maxFailedAttempts + 1);
  });

  it('retries a failed CA call with the same request id and issues once', async () => {
    const id = await approved();
    bed.ca.failures.push('drop', {
      status: 503,
      body: { error: { code: 'DEVICE_UNAVAILABLE', message: 'the CA key is not reachable' } },
    });
    const dropped = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(dropped.statusCode).toBe(503);
    expect(dropped.json().error.code).toBe('CA_UNAVAILABLE');
    const refused = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(refused.statusCode).toBe(502);
    expect(refused.json().error).toMatchObject({
      code: 'CA_REFUSED',
      details: { caCode: 'DEVICE_UNAVAILABLE' },
    });
    expect((await bed.call('maker', 'GET', `/v1/applications/${id}`)).json().status).toBe('approved');

    const done = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(done.statusCode, done.body).toBe(201);
    const ids = new Set(bed.ca.received.slice(-3).map((i) => i.requestId));
    expect(ids.size).toBe(1);
    const again = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(again.json().error.code).toBe('APPLICATION_ALREADY_ISSUED');
  });

  it('lists applications by status, holder and overdue-ness', async () => {
    const late = await submit({
      csr: bed.hierarchy.sm2Csr().replaceAll('CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'),
      holderType: 'organisation',
      profile: 'organization-sign',
      holder: {
        commonName: '福州市某局',
        organization: '福州市人民政府',
        identity: { unifiedSocialCreditCode: '91350100M000100Y43' },
      },
    });
    await bed.pool.query("UPDATE applications SET deadline = now() - interval '1 hour' WHERE id = $1", [
      late.id,
    ]);
    const overdue = await bed.call('reviewer', 'GET', '/v1/applications?overdue=true');
    expect(overdue.json().items.map((a: { id: string }) => a.id)).toEqual([late.id]);
    expect(overdue.json().items[0]).toMatchObject({ overdue: true, holderKey: 'uscc:91350100M000100Y43' });

    const byHolder = await bed.call('reviewer', 'GET', '/v1/applications?holderKey=uscc:91350100M000100Y43');
    expect(byHolder.json().items).toHaveLength(1);
    const submitted = await bed.call('reviewer', 'GET', '/v1/applications?status=submitted&limit=500');
    const statuses = new Set(submitted.json().items.map((a: { status: string }) => a.status));
    expect([...statuses]).toEqual(['submitted']);
    expect(submitted.json().items[0].id).toBe(late.id);
  });
});
