import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gmDistId, openssl, opensslHolderCsr, tempDir } from '../../../test/support/openssl-cli.ts';
import { issuingCaId, useRaTestBed } from './test-support/ra-test-bed.ts';

const person = { commonName: '张三', identity: { residentId: '11010519491231002X' } };
const otherPerson = { commonName: '李四', identity: { residentId: '110105198001010016' } };

/**
 * Renewal, re-key, freeze and unfreeze through the RA with a stand-in CA: the workflow, the
 * revocations they decide, and every refusal with its stable code and nothing written.
 */
describe('RA certificate lifecycle', () => {
  const bed = useRaTestBed();
  const dir = tempDir('ra-lifecycle-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;

  /** A holder key pair (OpenSSL) and a request for it. */
  function holderKey(): { name: string; csr: string } {
    const name = `k${++n}`;
    return { name, csr: opensslHolderCsr(dir, name, '/CN=holder') };
  }
  /** Another request for the same key. */
  function csrFor(name: string): string {
    openssl(
      [
        'req',
        '-new',
        '-key',
        `${name}.key`,
        '-sm3',
        '-sigopt',
        gmDistId,
        '-subj',
        '/CN=holder',
        '-out',
        `${name}.again.csr`,
      ],
      dir,
    );
    return readFileSync(join(dir, `${name}.again.csr`), 'utf8');
  }
  /** The holder's SM2 signature with key `name` over the DER of `csrPem` (GM default ID), base64. */
  function signCsr(name: string, csrPem: string): string {
    const der = openssl(['req', '-in', '-', '-outform', 'DER'], dir, Buffer.from(csrPem));
    return openssl(['dgst', '-sm3', '-sigopt', gmDistId, '-sign', `${name}.key`], dir, der).toString(
      'base64',
    );
  }

  async function issued(csr: string, holder: object = person) {
    const submitted = await bed.call('clerk', 'POST', '/v1/applications', {
      holderType: 'person',
      profile: 'person-sign',
      holder,
      csr,
      publishConsent: false,
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    return issue(submitted.json().id);
  }
  async function issue(id: string) {
    const reviewed = await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, {
      decision: 'approve',
    });
    expect(reviewed.statusCode, reviewed.body).toBe(200);
    const made = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(made.statusCode, made.body).toBe(201);
    return made.json() as { serial: string; supersession?: { revocationId: string; status: string } };
  }
  const status = async (serial: string) =>
    (await bed.call('reviewer', 'GET', `/v1/certificates/${issuingCaId}/${serial}`)).json();
  const count = async (table: string) =>
    Number((await bed.pool.query(`SELECT count(*) FROM ${table}`)).rows[0].count);
  const changes = () =>
    Promise.all([
      count('applications'),
      count('revocation_requests'),
      count("audit_log WHERE action <> 'request.refuse'"),
    ]);
  /** The refusal's code, after checking it wrote no application, request or audit record but the refusal's own. */
  async function refused(
    call: () => Promise<{ statusCode: number; body: string; json(): { error: { code: string } } }>,
    status: number,
  ) {
    const before = await changes();
    const res = await call();
    expect(res.statusCode, res.body).toBe(status);
    expect(await changes()).toEqual(before);
    const code = res.json().error.code;
    const { rows } = await bed.pool.query(
      "SELECT after->>'code' AS code FROM audit_log WHERE action = 'request.refuse' ORDER BY id DESC LIMIT 1",
    );
    expect(rows[0]?.code).toBe(code);
    return code;
  }
  const renew = (body: object) =>
    bed.call('clerk', 'POST', '/v1/renewals', { issuerId: issuingCaId, ...body });
  const rekey = (body: object) => bed.call('clerk', 'POST', '/v1/rekeys', { issuerId: issuingCaId, ...body });

  it('renews with the same key: the request is the evidence, the old certificate is superseded at issuance', async () => {
    const key = holderKey();
    const old = await issued(key.csr);
    const entered = await renew({ serial: old.serial.toUpperCase(), csr: csrFor(key.name) });
    expect(entered.statusCode, entered.body).toBe(201);
    expect(entered.json()).toMatchObject({
      kind: 'renewal',
      status: 'submitted',
      holderKey: 'resident-id:11010519491231002X',
      replaces: {
        issuerId: issuingCaId,
        serial: old.serial,
        supersede: 'revoke',
        holderEvidence: { method: 'current-key', sameKey: true },
      },
    });
    expect(await status(old.serial)).toMatchObject({ status: 'good' });
    const renewed = await issue(entered.json().id);
    expect(renewed.serial).not.toBe(old.serial);
    expect(renewed.supersession).toMatchObject({ status: 'done' });
    expect(await status(old.serial)).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
    expect(await status(renewed.serial)).toMatchObject({ status: 'good' });
    const renewals = await bed.call('reviewer', 'GET', '/v1/applications?kind=renewal&status=issued');
    expect(renewals.json().items.map((r: { id: string }) => r.id)).toContain(entered.json().id);
    const fresh = await bed.call('reviewer', 'GET', '/v1/applications?kind=new');
    expect(fresh.json().items.map((r: { id: string }) => r.id)).not.toContain(entered.json().id);
    const revocation = await bed.call(
      'reviewer',
      'GET',
      `/v1/revocations/${renewed.supersession!.revocationId}`,
    );
    expect(revocation.json()).toMatchObject({
      kind: 'revoke',
      reason: 'superseded',
      applicationId: entered.json().id,
      enteredBy: 'op-clerk',
      reviewedBy: 'op-reviewer',
      status: 'done',
    });
    // Replaced once: the old certificate is revoked, and its renewal is issued.
    expect(await refused(() => renew({ serial: old.serial, csr: csrFor(key.name) }), 409)).toBe(
      'RENEWAL_CERTIFICATE_REVOKED',
    );
  });

  it('lets the retrier finish a renewal the CA missed, and supersede the old certificate', async () => {
    const key = holderKey();
    const old = await issued(key.csr);
    const entered = await renew({ serial: old.serial, csr: csrFor(key.name) });
    const { id } = entered.json();
    await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' });
    await bed.ca.close();
    try {
      const failed = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
      expect(failed.json().error.code).toBe('CA_UNAVAILABLE');
    } finally {
      await bed.ca.listen(bed.caPort);
    }
    expect(await status(old.serial)).toMatchObject({ status: 'good' });
    expect(await bed.retrier().runOnce(new Date(Date.now() + 3_600_000))).toBe(1);
    expect(await status(old.serial)).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
    const revocation = await bed.pool.query(
      'SELECT status FROM revocation_requests WHERE application_id = $1',
      [id],
    );
    expect(revocation.rows).toEqual([{ status: 'done' }]);
  });

  it('renews a dual-enrollment pair as a pair: a new encryption certificate, both old ones superseded', async () => {
    const key = holderKey();
    const submitted = await bed.call('clerk', 'POST', '/v1/applications', {
      holderType: 'person',
      profile: 'person-sign',
      holder: person,
      csr: key.csr,
      publishConsent: false,
      dual: true,
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const old = (await issue(submitted.json().id)) as { serial: string; encryption: { serial: string } };
    const entered = await renew({ serial: old.serial, csr: csrFor(key.name) });
    expect(entered.json()).toMatchObject({ kind: 'renewal', dual: true });
    expect(await refused(() => renew({ serial: old.encryption.serial, csr: csrFor(key.name) }), 422)).toBe(
      'RENEWAL_OF_ENCRYPTION_CERTIFICATE',
    );
    const renewed = (await issue(entered.json().id)) as { serial: string; encryption: { serial: string } };
    expect(renewed.encryption.serial).not.toBe(old.encryption.serial);
    expect(await status(old.serial)).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
    expect(await status(old.encryption.serial)).toMatchObject({
      status: 'revoked',
      revocationReason: 'superseded',
    });
    expect(await status(renewed.encryption.serial)).toMatchObject({ status: 'good' });
  });

  it('renews with a new key countersigned by the current key, or checked at the desk', async () => {
    const key = holderKey();
    const old = await issued(key.csr);
    const next = holderKey();
    const bad = await refused(
      () => renew({ serial: old.serial, csr: next.csr, currentKeySignature: signCsr(next.name, next.csr) }),
      422,
    );
    expect(bad).toBe('CURRENT_KEY_SIGNATURE_INVALID');
    expect(await refused(() => renew({ serial: old.serial, csr: next.csr }), 422)).toBe(
      'HOLDER_IDENTITY_REQUIRED',
    );
    expect(await refused(() => renew({ serial: old.serial, csr: next.csr, holder: otherPerson }), 422)).toBe(
      'HOLDER_MISMATCH',
    );
    const signed = await renew({
      serial: old.serial,
      csr: next.csr,
      currentKeySignature: signCsr(key.name, next.csr),
    });
    expect(signed.statusCode, signed.body).toBe(201);
    expect(signed.json().replaces.holderEvidence).toEqual({ method: 'current-key', sameKey: false });
    expect(await refused(() => renew({ serial: old.serial, csr: next.csr, holder: person }), 409)).toBe(
      'CERTIFICATE_ALREADY_REPLACED',
    );
    const rejected = await bed.call('reviewer', 'POST', `/v1/applications/${signed.json().id}/review`, {
      decision: 'reject',
      reason: 'holder withdrew',
    });
    expect(rejected.statusCode).toBe(200);
    const desk = await renew({ serial: old.serial, csr: next.csr, holder: person });
    expect(desk.statusCode, desk.body).toBe(201);
    expect(desk.json().replaces.holderEvidence).toEqual({ method: 'desk', sameKey: false });
  });

  it('refuses renewal of expired, frozen and same-key-forbidden certificates', async () => {
    const key = holderKey();
    const old = await issued(key.csr);
    await bed.pool.query(
      "UPDATE profile_lifecycle SET same_key_renewal = false WHERE profile = 'person-sign'",
    );
    try {
      expect(await refused(() => renew({ serial: old.serial, csr: csrFor(key.name) }), 422)).toBe(
        'SAME_KEY_RENEWAL_NOT_ALLOWED',
      );
    } finally {
      await bed.pool.query(
        "UPDATE profile_lifecycle SET same_key_renewal = true WHERE profile = 'person-sign'",
      );
    }
    const frozen = await bed.call('clerk', 'POST', '/v1/freezes', {
      issuerId: issuingCaId,
      serial: old.serial,
      requestedBy: 'holder, by phone',
    });
    await bed.call('reviewer', 'POST', `/v1/revocations/${frozen.json().id}/review`, { decision: 'approve' });
    expect(await refused(() => renew({ serial: old.serial, csr: csrFor(key.name) }), 409)).toBe(
      'RENEWAL_CERTIFICATE_ON_HOLD',
    );
    const expiring = holderKey();
    const gone = await issued(expiring.csr);
    await bed.pool.query(
      "UPDATE certificates SET not_before = now() - interval '2 days', not_after = now() - interval '1 day' WHERE serial = $1",
      [gone.serial],
    );
    expect(await refused(() => renew({ serial: gone.serial, csr: csrFor(expiring.name) }), 409)).toBe(
      'RENEWAL_CERTIFICATE_EXPIRED',
    );
    expect(await refused(() => renew({ serial: 'abcdef', csr: csrFor(expiring.name) }), 404)).toBe(
      'CERTIFICATE_NOT_FOUND',
    );
    expect(await refused(() => renew({ serial: old.serial, csr: 'not a csr' }), 400)).toBe('CSR_MALFORMED');
    const asMaker = await bed.call('maker', 'POST', '/v1/renewals', {
      issuerId: issuingCaId,
      serial: old.serial,
      csr: key.csr,
    });
    expect(asMaker.json().error.code).toBe('ROLE_FORBIDDEN');
  });

  it('re-keys: approval revokes the compromised certificate at once, the maker issues the new key', async () => {
    const key = holderKey();
    const old = await issued(key.csr);
    expect(
      await refused(() => rekey({ serial: old.serial, csr: csrFor(key.name), holder: person }), 422),
    ).toBe('REKEY_SAME_KEY');
    expect(await refused(() => rekey({ serial: old.serial, csr: holderKey().csr }), 400)).toBe(
      'REQUEST_INVALID',
    );
    const next = holderKey();
    const entered = await rekey({ serial: old.serial, csr: next.csr, holder: person });
    expect(entered.statusCode, entered.body).toBe(201);
    expect(entered.json()).toMatchObject({
      kind: 'rekey',
      replaces: { supersede: 'revoke', holderEvidence: { method: 'desk' } },
    });
    const own = await bed.call('clerk', 'POST', `/v1/applications/${entered.json().id}/review`, {
      decision: 'approve',
    });
    expect(own.statusCode).toBe(403);
    const approved = await bed.call('reviewer', 'POST', `/v1/applications/${entered.json().id}/review`, {
      decision: 'approve',
    });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(await status(old.serial)).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    const made = await bed.call('maker', 'POST', `/v1/applications/${entered.json().id}/issue`);
    expect(made.statusCode, made.body).toBe(201);
    expect(made.json().supersession).toMatchObject({ status: 'done' });
    expect(await status(made.json().serial)).toMatchObject({ status: 'good' });
    const revocations = await bed.pool.query(
      'SELECT reason FROM revocation_requests WHERE application_id = $1',
      [entered.json().id],
    );
    expect(revocations.rows).toEqual([{ reason: 'keyCompromise' }]);
    expect(
      await refused(() => rekey({ serial: old.serial, csr: holderKey().csr, holder: person }), 409),
    ).toBe('REKEY_CERTIFICATE_REVOKED');
    // The compromised key is never certified again, not even to its own holder.
    const back = { serial: made.json().serial, csr: csrFor(key.name), holder: person };
    expect(await refused(() => renew(back), 409)).toBe('KEY_COMPROMISED');
  });

  it('freezes and unfreezes under review; a frozen certificate can be revoked, a revoked one never unfrozen', async () => {
    const cert = await issued(holderKey().csr);
    const hold = (path: string) =>
      bed.call('clerk', 'POST', path, {
        issuerId: issuingCaId,
        serial: cert.serial,
        requestedBy: 'holder, in person',
      });
    const approve = (id: string) =>
      bed.call('reviewer', 'POST', `/v1/revocations/${id}/review`, { decision: 'approve' });

    expect(await refused(() => hold('/v1/unfreezes'), 409)).toBe('CERTIFICATE_NOT_ON_HOLD');
    const frozen = await hold('/v1/freezes');
    expect(frozen.statusCode, frozen.body).toBe(201);
    expect(frozen.json()).toMatchObject({ kind: 'revoke', reason: 'certificateHold', status: 'submitted' });
    expect((await approve(frozen.json().id)).json().status).toBe('done');
    expect(await status(cert.serial)).toMatchObject({ status: 'hold' });
    expect(await refused(() => hold('/v1/freezes'), 409)).toBe('CERTIFICATE_ALREADY_REVOKED');

    const thawed = await hold('/v1/unfreezes');
    expect(thawed.statusCode, thawed.body).toBe(201);
    expect(thawed.json()).toMatchObject({ kind: 'release', reason: 'removeFromCRL' });
    expect(await refused(() => hold('/v1/unfreezes'), 409)).toBe('REVOCATION_PENDING');
    const released = await approve(thawed.json().id);
    expect(released.json()).toMatchObject({ kind: 'release', status: 'done' });
    expect(bed.ca.received.at(-1)).toMatchObject({ operation: 'release', serial: cert.serial });
    expect(await status(cert.serial)).toMatchObject({ status: 'good', revokedAt: null });

    const again = await hold('/v1/freezes');
    await approve(again.json().id);
    const revoked = await bed.call('clerk', 'POST', '/v1/revocations', {
      issuerId: issuingCaId,
      serial: cert.serial,
      reason: 'keyCompromise',
      requestedBy: 'holder',
    });
    expect(revoked.statusCode, revoked.body).toBe(201);
    expect((await approve(revoked.json().id)).json().status).toBe('done');
    expect(await status(cert.serial)).toMatchObject({ status: 'revoked' });
    expect(await refused(() => hold('/v1/unfreezes'), 409)).toBe('CERTIFICATE_REVOKED');
    const audit = await bed.pool.query(
      "SELECT action FROM audit_log WHERE subject_type = 'revocation_request' AND subject_id = $1 ORDER BY id",
      [thawed.json().id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['release.submit', 'release.approve', 'release.done']);
  });
});
