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
      json: (await res.json()) as { error?: { code: string }; totp?: { secret: string } },
    };
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
    const issued = await operators.issue(
      csr,
      { commonName: 'Pat', identity: { passportNumber: 'E12345678' } },
      'operator-sign',
    );
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

    const pat = (await db.pool.query("SELECT id FROM operators WHERE name = 'pat'")).rows[0].id as string;
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

    await operators.revoke(issued.issuerId, issued.serial);
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
  });
});
