import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCertificate, validateChain } from '@sm2ca/pki';
import {
  addOperator,
  caActionDigest,
  createLogger,
  type HttpServer,
  loadConfig,
  type Role,
} from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keygenRefusal, signRefusal } from '../../cli/src/service-keys.ts';
import { loadIssuers } from '../../services/ca/src/issuers.ts';
import { type CaTestBed, createCaTestBed } from '../../services/ca/src/test-support/ca-test-bed.ts';
import { buildRaApp } from '../../services/ra/src/app.ts';
import { OpensslHierarchy } from '../support/openssl-ca.ts';
import { serviceRolePool } from '../support/service-role-pool.ts';

const staff = {
  wang: 'super_admin',
  li: 'super_admin',
  zhao: 'super_admin',
  qian: 'super_admin',
  reviewer: 'reviewer',
} as const satisfies Record<string, Role>;
type Who = keyof typeof staff;

const path = '/v1/admin/ca-actions';

/**
 * Dual control end to end: the RA (its routes, over app.inject) and the real CA (listening on a
 * port, as the RA's CA client reaches it), one database, one hsm-sim token holding the hierarchy
 * the real key ceremony made. Each service connects as its own database role (sm2ca_ra, sm2ca_ca), as
 * `sm2ca start` runs them, so a missing grant fails here.
 */
describe('dual control of CA-level actions', () => {
  let bed: CaTestBed;
  let ra: HttpServer;
  let raPool: Pool;
  let home: string;
  const credentials = {} as Record<Who, string>;

  beforeAll(async () => {
    bed = await createCaTestBed({}, { serviceRole: true });
    raPool = await serviceRolePool(bed.db.url, 'ra');
    await bed.app.listen({ port: 0, host: '127.0.0.1' });
    const caPort = (bed.app.server.address() as AddressInfo).port;
    home = mkdtempSync(join(tmpdir(), 'dual-control-'));
    ra = await buildRaApp({
      config: loadConfig({
        SM2CA_HOME: home,
        SM2CA_CA_PORT: String(caPort),
        SM2CA_KM_PORT: String(bed.config.services.km.port),
        SM2CA_ISSUE_RETRY_SECONDS: '3600',
        LOG_LEVEL: 'silent',
      }),
      log: createLogger('ra', { level: 'silent' }),
      db: { pool: raPool, url: bed.db.url, close: async () => {} },
      device: bed.device,
    });
    await ra.ready();
    for (const [who, role] of Object.entries(staff) as Array<[Who, Role]>) {
      const added = await addOperator(
        bed.db.pool,
        { name: 'cli', role: 'test' },
        { name: `op-${who}`, identity: `id-${who}`, roles: [role] },
      );
      credentials[who] = added.credential;
    }
  });
  afterAll(async () => {
    await ra?.close();
    await raPool?.end();
    await bed?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const call = (who: Who, method: 'GET' | 'POST', url: string, body?: object) =>
    ra.inject({
      method,
      url,
      headers: { authorization: `Bearer ${credentials[who]}` },
      ...(body ? { payload: body } : {}),
    });
  const request = async (who: Who, kind: string, parameters: object) => {
    const res = await call(who, 'POST', path, { kind, parameters });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; digest: string; state: string; parameters: Record<string, unknown> };
  };
  const decide = (who: Who, id: string, decision: 'approve' | 'reject', digest: string, reason?: string) =>
    call(who, 'POST', `${path}/${id}/${decision}`, { digest, ...(reason ? { reason } : {}) });
  /** Asked by wang, approved by li and zhao: the second approval has the CA carry it out. */
  const approved = async (kind: string, parameters: object) => {
    const action = await request('wang', kind, parameters);
    expect((await decide('li', action.id, 'approve', action.digest)).json().state).toBe('pending');
    const res = await decide('zhao', action.id, 'approve', action.digest);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().state).toBe('executed');
    return res.json() as { id: string; result: Record<string, unknown> };
  };
  const audit = async (action: string, subjectId: string) =>
    (
      await bed.db.pool.query(
        'SELECT actor, after FROM audit_log WHERE action = $1 AND subject_id = $2 ORDER BY id',
        [action, subjectId],
      )
    ).rows as Array<{ actor: string; after: Record<string, unknown> }>;
  const status = async (issuerId: string) => {
    const issuers = await loadIssuers(bed.db.pool);
    const issuer = issuers.get(issuerId)!;
    const serial = Buffer.from(issuer.certificate.serialNumber).toString('hex');
    const { rows } = await bed.db.pool.query(
      'SELECT status, revocation_reason FROM certificates WHERE issuer_id = $1 AND serial = $2',
      [issuer.parentId ?? issuer.id, serial],
    );
    return rows[0] as { status: string; revocation_reason: string | null };
  };

  it('runs the RA and the CA under their own database roles', async () => {
    for (const [pool, role] of [
      [raPool, 'sm2ca_ra'],
      [bed.caPool, 'sm2ca_ca'],
    ] as const) {
      const { rows } = await pool.query('SELECT current_user AS role');
      expect(rows[0].role).toBe(role);
    }
  });

  it('refuses everyone but super administrators, on record', async () => {
    const res = await call('reviewer', 'POST', path, { kind: 'rotate_ra_key', parameters: {} });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('ROLE_FORBIDDEN');
    expect((await call('reviewer', 'GET', path)).statusCode).toBe(403);
    const refusals = await audit('ca_action.refuse', 'none');
    expect(refusals.map((r) => [r.actor, r.after.code])).toContainEqual(['op-reviewer', 'ROLE_FORBIDDEN']);
  });

  it('refuses the requester, a second decision by the same person and a wrong digest; each on record', async () => {
    const action = await request('wang', 'rotate_ra_key', {});
    expect(action.state).toBe('pending');
    expect(action.digest).toBe(caActionDigest('rotate_ra_key', action.parameters).toString('hex'));

    const own = await decide('wang', action.id, 'approve', action.digest);
    expect([own.statusCode, own.json().error.code]).toEqual([403, 'CA_ACTION_OWN_REQUEST']);
    const wrong = await decide('li', action.id, 'approve', 'ab'.repeat(32));
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([409, 'CA_ACTION_DIGEST_MISMATCH']);
    expect((await decide('li', action.id, 'approve', action.digest)).statusCode).toBe(200);
    const twice = await decide('li', action.id, 'approve', action.digest);
    expect([twice.statusCode, twice.json().error.code]).toEqual([409, 'CA_ACTION_ALREADY_DECIDED']);

    const codes = (await audit('ca_action.refuse', action.id)).map((r) => [r.actor, r.after.code]);
    expect(codes).toEqual([
      ['op-wang', 'CA_ACTION_OWN_REQUEST'],
      ['op-li', 'CA_ACTION_DIGEST_MISMATCH'],
      ['op-li', 'CA_ACTION_ALREADY_DECIDED'],
    ]);
    const shown = (await call('qian', 'GET', `${path}/${action.id}`)).json();
    expect(shown.state).toBe('pending');
    expect(shown.decisions.map((d: { by: string }) => d.by)).toEqual(['op-li']);

    // The database holds the same rules whoever writes to it.
    const requester = (await bed.db.pool.query("SELECT id FROM operators WHERE name = 'op-wang'")).rows[0].id;
    await expect(
      bed.db.pool.query(
        `INSERT INTO ca_action_approvals (action_id, approver_id, decision, digest)
         SELECT id, $2, 'approve', digest FROM ca_actions WHERE id = $1`,
        [action.id, requester],
      ),
    ).rejects.toThrow(/may not decide/);
    await expect(
      bed.db.pool.query("UPDATE ca_action_approvals SET decision = 'reject' WHERE action_id = $1", [
        action.id,
      ]),
    ).rejects.toThrow(/insert-only/);

    // One rejection ends it; nobody decides after that.
    const noReason = await decide('zhao', action.id, 'reject', action.digest);
    expect(noReason.json().error.code).toBe('REVIEW_REASON_REQUIRED');
    const rejected = await decide('zhao', action.id, 'reject', action.digest, 'no rotation is planned');
    expect(rejected.json().state).toBe('rejected');
    const late = await decide('qian', action.id, 'approve', action.digest);
    expect([late.statusCode, late.json().error.code]).toEqual([409, 'CA_ACTION_CLOSED']);
    expect(await audit('ca_action.reject', action.id)).toHaveLength(1);
  });

  it('refuses a request fewer super administrators than m could approve', async () => {
    await bed.db.pool.query("UPDATE operators SET disabled_at = now() WHERE name IN ('op-zhao', 'op-qian')");
    try {
      const res = await call('wang', 'POST', path, { kind: 'rotate_ra_key', parameters: {} });
      expect([res.statusCode, res.json().error.code]).toEqual([409, 'CA_ACTION_TOO_FEW_APPROVERS']);
    } finally {
      await bed.db.pool.query("UPDATE operators SET disabled_at = NULL WHERE name IN ('op-zhao', 'op-qian')");
    }
  });

  it('refuses approvals once the request has expired, and closes it on record', async () => {
    const action = await request('wang', 'rotate_ra_key', {});
    await bed.db.pool.query(
      `UPDATE ca_actions SET requested_at = now() - interval '25 hours', expires_at = now() - interval '1 hour'
        WHERE id = $1`,
      [action.id],
    );
    expect(
      (await call('li', 'GET', `${path}?state=expired`)).json().items.map((a: { id: string }) => a.id),
    ).toContain(action.id);
    const res = await decide('li', action.id, 'approve', action.digest);
    expect([res.statusCode, res.json().error.code]).toEqual([409, 'CA_ACTION_EXPIRED']);
    expect(
      (await bed.db.pool.query('SELECT state FROM ca_actions WHERE id = $1', [action.id])).rows[0].state,
    ).toBe('expired');
    expect(await audit('ca_action.expire', action.id)).toHaveLength(1);
    expect((await audit('ca_action.refuse', action.id)).map((r) => r.after.code)).toEqual([
      'CA_ACTION_EXPIRED',
    ]);
  });

  it('the CA refuses an instruction whose approvals are not in the database, or whose parameters changed', async () => {
    const parameters = {
      issuer: 'root',
      data: Buffer.from('not approved').toString('base64'),
      purpose: 'test',
    };
    const digest = caActionDigest('sign_with_ca_key', parameters);
    const operator = (await bed.db.pool.query("SELECT id FROM operators WHERE name = 'op-wang'")).rows[0].id;
    const { rows } = await bed.db.pool.query(
      `INSERT INTO ca_actions (kind, parameters, digest, requested_by, approvals_required, expires_at, state)
       VALUES ('sign_with_ca_key', $1, $2, $3, 2, now() + interval '1 hour', 'approved') RETURNING id::text`,
      [JSON.stringify(parameters), digest, operator],
    );
    const id = rows[0].id as string;
    const instruction = {
      operation: 'ca-action',
      requestId: `ca-action-${id}`,
      actionId: id,
      kind: 'sign_with_ca_key',
      digest: digest.toString('hex'),
    };
    const missing = await bed.instruct('/v1/instructions/ca-action', instruction);
    expect([missing.statusCode, missing.json().error.code]).toEqual([409, 'CA_ACTION_NOT_APPROVED']);
    // Through the RA the same: the CA's word decides, and the action stays approved for a retry.
    const viaRa = await call('li', 'POST', `${path}/${id}/execute`);
    expect([viaRa.statusCode, viaRa.json().error.details.caCode]).toEqual([502, 'CA_ACTION_NOT_APPROVED']);

    await bed.db.pool.query(
      `UPDATE ca_actions SET parameters = jsonb_set(parameters, '{data}', '"dGFtcGVyZWQ="') WHERE id = $1`,
      [id],
    );
    const tampered = await bed.instruct('/v1/instructions/ca-action', {
      ...instruction,
      requestId: `retry-ca-action-${id}`,
    });
    expect([tampered.statusCode, tampered.json().error.code]).toEqual([409, 'CA_ACTION_DIGEST_MISMATCH']);
    const codes = (await audit('ca_action.refuse', id))
      .filter((r) => r.actor === 'ra')
      .map((r) => r.after.code);
    expect(codes).toEqual(['CA_ACTION_NOT_APPROVED', 'CA_ACTION_NOT_APPROVED', 'CA_ACTION_DIGEST_MISMATCH']);
  });

  it('revokes an OCSP signer (cACompromise) and the CA rolls the signer at once', async () => {
    const before = [...(await loadIssuers(bed.db.pool)).values()].filter(
      (i) => i.kind === 'ocsp' && i.parentId === 'sub',
    );
    expect(before).toHaveLength(1);
    const signer = before[0]!.id;
    const done = await approved('revoke_hierarchy_certificate', { issuer: signer, reason: 'cACompromise' });
    expect(done.result).toMatchObject({ issuer: signer, reason: 'cACompromise' });
    expect(await status(signer)).toEqual({ status: 'revoked', revocation_reason: 'cACompromise' });
    const after = [...(await loadIssuers(bed.db.pool)).values()].filter(
      (i) => i.kind === 'ocsp' && i.parentId === 'sub',
    );
    expect(after).toHaveLength(2);
    expect((await status(after[1]!.id)).status).toBe('good');
    expect(await audit('ca_action.execute', done.id)).toHaveLength(1);
  });

  it('signs bytes the approvers saw with a CA key, and only so', async () => {
    const data = Buffer.from('cross-certification request of a partner CA, digest seen by the approvers');
    const done = await approved('sign_with_ca_key', {
      issuer: 'root',
      data: data.toString('base64'),
      purpose: 'partner CA agreement',
    });
    const root = (await loadIssuers(bed.db.pool)).get('root')!;
    const signature = Buffer.from(done.result.signature as string, 'base64');
    expect(await bed.device.verify(root.certificate.spki, data, signature)).toBe(true);
    expect(await audit('ca_key.sign', 'root')).toHaveLength(1);
  });

  it("cross-certifies another CA's key and name under the root, recorded like every certificate", async () => {
    const partner = new OpensslHierarchy();
    try {
      const action = await request('wang', 'cross_certify', { certificate: partner.root.toString('base64') });
      // Approvers see whose key they certify.
      expect(action.parameters).toMatchObject({
        issuer: 'root',
        subject: 'C=CN, O=Test, CN=Test Root',
        days: 365,
      });
      await decide('li', action.id, 'approve', action.digest);
      const done = (await decide('zhao', action.id, 'approve', action.digest)).json();
      expect(done.state, JSON.stringify(done)).toBe('executed');
      const cross = parseCertificate(Buffer.from(done.result.certificate, 'base64'));
      const partnerRoot = parseCertificate(partner.root);
      expect(Buffer.from(cross.subject)).toEqual(Buffer.from(partnerRoot.subject));
      expect(Buffer.from(cross.spki)).toEqual(Buffer.from(partnerRoot.spki));
      expect(cross.notAfter.getTime()).toBeLessThanOrEqual(partnerRoot.notAfter.getTime());
      const root = (await loadIssuers(bed.db.pool)).get('root')!;
      await validateChain(cross, { trustAnchors: [root.certificate], verifier: bed.device });
      const { rows } = await bed.db.pool.query(
        'SELECT status, profile, request_id FROM certificates WHERE issuer_id = $1 AND serial = $2',
        ['root', done.result.serial],
      );
      expect(rows[0]).toEqual({ status: 'good', profile: 'sub-ca', request_id: `ca-action:${action.id}` });

      // Withdrawn the same way: under dual control, as cACompromise or superseded.
      const revoked = await approved('revoke_cross_certificate', {
        serial: done.result.serial,
        reason: 'superseded',
      });
      expect(revoked.result).toMatchObject({ issuer: 'root', subject: 'C=CN, O=Test, CN=Test Root' });
      const after = await bed.db.pool.query(
        'SELECT status, revocation_reason FROM certificates WHERE issuer_id = $1 AND serial = $2',
        ['root', done.result.serial],
      );
      expect(after.rows[0]).toEqual({ status: 'revoked', revocation_reason: 'superseded' });
    } finally {
      partner.dispose();
    }
  });

  it('creates a subordinate CA whose certificate chains to the root, with its own OCSP signer', async () => {
    // A subordinate CA's certificate has pathLen 0: nothing can be made under one.
    const under = await call('wang', 'POST', path, {
      kind: 'create_subordinate_ca',
      parameters: { id: 'sub-sub', parent: 'sub', commonName: 'SM2CA Nested CA' },
    });
    expect([under.statusCode, under.json().error.code]).toEqual([422, 'CA_ACTION_WRONG_ISSUER']);
    const done = await approved('create_subordinate_ca', {
      id: 'sub-2026',
      commonName: 'SM2CA Issuing CA 2',
    });
    const issuers = await loadIssuers(bed.db.pool);
    const created = issuers.get('sub-2026')!;
    expect(created).toMatchObject({ kind: 'subordinate', parentId: 'root', keyLabel: 'sub-2026' });
    expect(await bed.device.hasKey('sub-2026')).toBe(true);
    const certificate = parseCertificate(Buffer.from(done.result.certificate as string, 'base64'));
    await validateChain(certificate, {
      trustAnchors: [issuers.get('root')!.certificate],
      verifier: bed.device,
    });
    expect((await status('sub-2026')).status).toBe('good');
    expect([...issuers.values()].some((i) => i.kind === 'ocsp' && i.parentId === 'sub-2026')).toBe(true);
  });

  it('rotates the RA key: a new key and certificate, the old one revoked as superseded and refused', async () => {
    const inUse = await call('wang', 'POST', path, {
      kind: 'revoke_hierarchy_certificate',
      parameters: { issuer: 'ra', reason: 'cACompromise' },
    });
    expect([inUse.statusCode, inUse.json().error.code]).toEqual([409, 'RA_KEY_IN_USE']);
    const done = await approved('rotate_ra_key', {});
    expect(done.result).toMatchObject({ issuer: 'ra-2', retired: { issuer: 'ra', reason: 'superseded' } });
    expect(await status('ra')).toEqual({ status: 'revoked', revocation_reason: 'superseded' });
    expect((await status('ra-2')).status).toBe('good');
    expect(await bed.device.hasKey('ra-2')).toBe(true);
    // The CA no longer takes the old key's word; the RA has moved on to the new one.
    const old = await bed.issue('钱七').catch((err: Error) => err.message);
    expect(old).toContain('RA_CERTIFICATE_REVOKED');
    await approved('sign_with_ca_key', {
      issuer: 'sub',
      data: Buffer.from('signed after the rotation').toString('base64'),
      purpose: 'the new RA key is heard',
    });
  });

  it('revokes the issuing CA (superseded): the CA then refuses to issue under it', async () => {
    const done = await approved('revoke_hierarchy_certificate', { issuer: 'sub', reason: 'superseded' });
    expect(done.result).toMatchObject({ issuer: 'sub', issuerId: 'root', reason: 'superseded' });
    const res = await bed.instruct(
      '/v1/instructions/issue',
      {
        operation: 'issue',
        profile: 'person-sign',
        csr: await bed.holderCsr(),
        subject: [
          { type: 'C', value: 'CN' },
          { type: 'CN', value: '孙八' },
        ],
      },
      { signer: bed.device.signer('ra-2') },
    );
    expect([res.statusCode, res.json().error.code]).toEqual([409, 'ISSUER_NOT_USABLE']);
    // A revoked CA cannot be revoked twice, nor the root under dual control at all.
    const again = await call('wang', 'POST', path, {
      kind: 'revoke_hierarchy_certificate',
      parameters: { issuer: 'sub', reason: 'cACompromise' },
    });
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'CA_ACTION_ISSUER_NOT_GOOD']);
    const root = await call('wang', 'POST', path, {
      kind: 'revoke_hierarchy_certificate',
      parameters: { issuer: 'root', reason: 'cACompromise' },
    });
    expect([root.statusCode, root.json().error.code]).toEqual([422, 'CA_ACTION_WRONG_ISSUER']);
  });

  it('leaves the CLI no way to the keys the actions made', async () => {
    const pool = bed.db.pool;
    for (const label of ['sub-2026', 'ra-2', 'root', 'sub']) {
      expect(await signRefusal(pool, bed.device, label), label).toBeDefined();
      expect(await keygenRefusal(pool, label), label).toBeDefined();
    }
  });
});
