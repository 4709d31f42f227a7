import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmDistId, openssl, opensslSm2Key, tempDir } from '../support/openssl-cli.ts';
import { type RaOperators, raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { addStackOperator } from '../support/stack-operators.ts';
import { createTestDatabase } from '../support/test-database.ts';

/**
 * Certificate login with every service its own process: the real CA issues an operator-sign
 * certificate through the RA workflow for a key OpenSSL made, a super admin enrols it, and
 * `sm2ca login` signs the challenge with the key file; revoking the certificate ends its logins.
 */
describe('operator certificate login end to end', () => {
  let stack: Stack;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let operators: RaOperators;
  const dir = tempDir('e2e-login-');
  const cliToken: Record<string, string> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db.url, {}, ['ca', 'ra']);
    operators = await raOperators(stack);
    cliToken.admin = stack.superAdmin!;
    cliToken.pat = await addStackOperator(stack, 'pat', ['reviewer']);
    cliToken.sam = await addStackOperator(stack, 'sam', ['super-admin']);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${stack.url.ra}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return {
      status: res.status,
      json: (await res.json()) as {
        id?: string;
        status?: string;
        error?: { code: string };
        totp?: { secret: string };
      },
    };
  };

  const adminId = async (name: string) =>
    (await db.pool.query('SELECT id FROM operators WHERE name = $1', [name])).rows[0].id as string;

  /**
   * An operator-sign certificate for `operatorId` through the RA workflow: the clerk enters it, a
   * reviewer is refused the decision, a super admin approves, the maker issues.
   */
  const issueOperatorCertificate = async (csr: string, operatorId: string, commonName: string) => {
    const entered = await operators.ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'operator-sign',
      operatorId,
      holder: { commonName, identity: { passportNumber: `E${operatorId.padStart(8, '1')}` } },
      csr,
      publishConsent: false,
    });
    expect(entered.status, entered.text).toBe(201);
    const id = entered.json().id as string;
    const byReviewer = await operators.ra('POST', `/v1/applications/${id}/review`, 'reviewer', {
      decision: 'approve',
    });
    expect(byReviewer.json().error.code).toBe('OPERATOR_CERTIFICATE_SUPER_ADMIN_ONLY');
    const approved = await call(
      'POST',
      `/v1/admin/operator-certificates/applications/${id}/review`,
      operatorId === (await adminId('stack-admin')) ? cliToken.sam! : cliToken.admin!,
      { decision: 'approve' },
    );
    expect(approved.status, JSON.stringify(approved.json)).toBe(200);
    const issued = await operators.ra('POST', `/v1/applications/${id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(201);
    return issued.json() as {
      issuerId: string;
      serial: string;
      download: { reference: string; code: string };
    };
  };

  /** A freeze, unfreeze or revocation of an operator's certificate, decided by a super admin. */
  const decideHold = async (path: string, cert: { issuerId: string; serial: string }, operatorId: string) => {
    const entered = await operators.ra('POST', path, 'clerk', {
      issuerId: cert.issuerId,
      serial: cert.serial,
      requestedBy: 'e2e',
      ...(path === '/v1/revocations' ? { reason: 'cessationOfOperation' } : {}),
    });
    expect(entered.status, entered.text).toBe(201);
    const id = entered.json().id as string;
    const byReviewer = await operators.ra('POST', `/v1/revocations/${id}/review`, 'reviewer', {
      decision: 'approve',
    });
    expect(byReviewer.json().error.code).toBe('OPERATOR_CERTIFICATE_SUPER_ADMIN_ONLY');
    const decider = operatorId === (await adminId('stack-admin')) ? cliToken.sam! : cliToken.admin!;
    const decided = await call('POST', `/v1/admin/operator-certificates/revocations/${id}/review`, decider, {
      decision: 'approve',
    });
    expect(decided.status, JSON.stringify(decided.json)).toBe(200);
    return decided.json;
  };

  it('issues, enrols and logs in an operator; a revoked certificate logs in no more', async () => {
    const key = opensslSm2Key(dir, 'pat.key');
    const csr = openssl(
      [
        'req',
        '-new',
        '-key',
        key.keyPath,
        '-sm3',
        '-sigopt',
        gmDistId,
        '-subj',
        '/C=CN/CN=Pat',
        '-outform',
        'PEM',
      ],
      dir,
    ).toString();
    const pat = (await db.pool.query("SELECT id FROM operators WHERE name = 'pat'")).rows[0].id as string;
    const issued = await issueOperatorCertificate(csr, pat, 'Pat');
    const { reference, code } = issued.download;
    const download = await operators.ra('POST', '/v1/download', undefined, {
      reference,
      code,
      format: 'pem',
    });
    expect(download.status, download.text).toBe(200);
    const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(download.text)![0];
    const certFile = join(dir, 'pat.pem');
    writeFileSync(certFile, leaf);
    const text = openssl(['x509', '-in', certFile, '-noout', '-text']).toString();
    expect(text).toContain('TLS Web Client Authentication');
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);

    const enrolled = await call('POST', `/v1/operators/${pat}/login-enrolment`, cliToken.admin!, {
      issuerId: issued.issuerId,
      serial: issued.serial,
    });
    expect(enrolled.status, JSON.stringify(enrolled.json)).toBe(201);
    const totp = new TOTP({ secret: Secret.fromBase32(enrolled.json.totp!.secret) });

    // Pat is a person now: the credential `operator add` printed no longer admits them.
    const bearer = await call('GET', '/v1/applications', cliToken.pat!);
    expect(bearer.json.error?.code).toBe('AUTH_BEARER_AUTOMATION_ONLY');

    const login = await stack.cli([
      'login',
      '--key',
      key.keyPath,
      '--cert',
      certFile,
      '--totp',
      totp.generate(),
    ]);
    expect(login.code, login.stderr).toBe(0);
    const session = login.stdout.trim();
    expect(session).toMatch(/^sm2ses_/);
    expect((await call('GET', '/v1/applications', session)).status).toBe(200);

    // Freeze, unfreeze and revocation of an operator's certificate: entered by the clerk, decided
    // by a super admin; the reviewer is refused, and so is the operator concerned.
    const frozen = await decideHold('/v1/freezes', issued, pat);
    expect(frozen.status).toBe('done');
    const suspended = await stack.cli([
      'login',
      '--key',
      key.keyPath,
      '--cert',
      certFile,
      '--totp',
      totp.generate(),
    ]);
    expect(suspended.stderr).toContain('LOGIN_CERTIFICATE_SUSPENDED');
    expect((await decideHold('/v1/unfreezes', issued, pat)).status).toBe('done');
    expect((await decideHold('/v1/revocations', issued, pat)).status).toBe('done');
    const refused = await stack.cli([
      'login',
      '--key',
      key.keyPath,
      '--cert',
      certFile,
      '--totp',
      totp.generate(),
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('LOGIN_CERTIFICATE_REVOKED');

    // The super admin queries operators' own certificates.
    const listed = await fetch(`${stack.url.ra}/v1/admin/operator-certificates?operatorId=${pat}`, {
      headers: { authorization: `Bearer ${cliToken.admin}` },
    });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { items: unknown[] }).items).toEqual([
      expect.objectContaining({
        serial: issued.serial,
        operator: 'pat',
        status: 'revoked',
        loginBound: true,
      }),
    ]);
  }, 120_000);

  it("leaves an administrator's own certificate to another super admin, and audits each refusal", async () => {
    const key = opensslSm2Key(dir, 'admin.key');
    const csr = openssl(
      [
        'req',
        '-new',
        '-key',
        key.keyPath,
        '-sm3',
        '-sigopt',
        gmDistId,
        '-subj',
        '/C=CN/CN=Admin',
        '-outform',
        'PEM',
      ],
      dir,
    ).toString();
    const admin = await adminId('stack-admin');
    const entered = await operators.ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'operator-sign',
      operatorId: admin,
      holder: { commonName: 'Admin', identity: { passportNumber: 'E87654321' } },
      csr,
      publishConsent: false,
    });
    expect(entered.status, entered.text).toBe(201);
    const id = entered.json().id as string;
    const own = await call(
      'POST',
      `/v1/admin/operator-certificates/applications/${id}/review`,
      cliToken.admin!,
      {
        decision: 'approve',
      },
    );
    expect(own.status).toBe(403);
    expect(own.json.error?.code).toBe('OPERATOR_CERTIFICATE_OWN');
    const unnamed = await operators.ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'operator-sign',
      holder: { commonName: 'Admin', identity: { passportNumber: 'E87654321' } },
      csr,
      publishConsent: false,
    });
    expect(unnamed.json().error.code).toBe('OPERATOR_CERTIFICATE_NAMES_OPERATOR');

    // A holder's certificate stays the reviewer's: the super admin's route refuses it.
    const holderKey = opensslSm2Key(dir, 'holder.key');
    const holderCsr = openssl(
      [
        'req',
        '-new',
        '-key',
        holderKey.keyPath,
        '-sm3',
        '-sigopt',
        gmDistId,
        '-subj',
        '/C=CN/CN=Holder',
        '-outform',
        'PEM',
      ],
      dir,
    ).toString();
    const holder = await operators.ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-sign',
      holder: { commonName: 'Holder', identity: { passportNumber: 'E11223344' } },
      csr: holderCsr,
      publishConsent: false,
    });
    expect(holder.status, holder.text).toBe(201);
    const notOurs = await call(
      'POST',
      `/v1/admin/operator-certificates/applications/${holder.json().id}/review`,
      cliToken.sam!,
      { decision: 'approve' },
    );
    expect(notOurs.json.error?.code).toBe('NOT_AN_OPERATOR_CERTIFICATE');

    const bySam = await call(
      'POST',
      `/v1/admin/operator-certificates/applications/${id}/review`,
      cliToken.sam!,
      {
        decision: 'approve',
      },
    );
    expect(bySam.status, JSON.stringify(bySam.json)).toBe(200);
    expect(bySam.json.status).toBe('approved');

    const refusals = await db.pool.query(
      `SELECT actor, after->>'code' AS code FROM audit_log
        WHERE action IN ('application.refuse', 'revocation_request.refuse') ORDER BY id`,
    );
    expect(refusals.rows).toEqual(
      expect.arrayContaining([
        { actor: 'reviewer', code: 'OPERATOR_CERTIFICATE_SUPER_ADMIN_ONLY' },
        { actor: 'stack-admin', code: 'OPERATOR_CERTIFICATE_OWN' },
        { actor: 'sam', code: 'NOT_AN_OPERATOR_CERTIFICATE' },
      ]),
    );
  });
});
