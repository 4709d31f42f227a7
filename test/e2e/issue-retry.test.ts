import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslHolderCsr } from '../support/openssl-cli.ts';
import { type RaOperators, raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const root = new URL('../../', import.meta.url).pathname;

/**
 * The RA running with its CA down: a certificate maker's issuance fails, and once the CA
 * process is up the RA's own retrier completes it under the request id it first claimed,
 * the CA's ledger making sure there is one certificate.
 */
describe('issuance retry end to end', () => {
  let db: TestDatabase & { drop(): Promise<void> };
  let stack: Stack;
  let ra: RaOperators['ra'];
  let ca: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-issue-retry-'));

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db.url, { SM2CA_ISSUE_RETRY_SECONDS: '1' }, ['ra']);
    ({ ra } = await raOperators(stack));
  }, 180_000);
  afterAll(async () => {
    if (ca && ca.exitCode === null) {
      const exited = new Promise((resolve) => ca?.once('exit', resolve));
      ca.kill('SIGTERM');
      await exited;
    }
    await stack?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
    if (stack?.env.SM2CA_HOME) rmSync(stack.env.SM2CA_HOME, { recursive: true, force: true });
  });

  it('completes an issuance that failed while the CA was down, with one certificate', async () => {
    const entered = await ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-sign',
      holder: { commonName: '张三', identity: { residentId: '11010519491231002X' } },
      csr: opensslHolderCsr(dir, 'holder', '/C=CN/CN=Zhang San'),
      publishConsent: false,
    });
    expect(entered.status, entered.text).toBe(201);
    const { id } = entered.json();
    expect(
      (await ra('POST', `/v1/applications/${id}/review`, 'reviewer', { decision: 'approve' })).status,
    ).toBe(200);
    const failed = await ra('POST', `/v1/applications/${id}/issue`, 'maker');
    expect(failed.status).toBe(503);
    expect(failed.json().error.code).toBe('CA_UNAVAILABLE');
    const { rows } = await db.pool.query('SELECT ca_request_id FROM applications WHERE id = $1', [id]);
    const requestId = rows[0].ca_request_id as string;

    ca = spawn(process.execPath, ['--import', 'tsx', `${root}services/ca/src/main.ts`], {
      env: stack.env,
      cwd: root,
      stdio: 'ignore',
    });
    await expect
      .poll(
        () =>
          fetch(`${stack.url.ca}/health/ready`).then(
            (r) => r.ok,
            () => false,
          ),
        { timeout: 60_000 },
      )
      .toBe(true);
    // The CA is back: make the retry due now rather than after the first back-off.
    await db.pool.query('UPDATE applications SET next_issue_attempt_at = now() WHERE id = $1', [id]);

    await expect
      .poll(async () => (await ra('GET', `/v1/applications/${id}`, 'maker')).json().status, {
        timeout: 30_000,
      })
      .toBe('issued');
    const application = (await ra('GET', `/v1/applications/${id}`, 'maker')).json();
    const certificates = await db.pool.query(
      "SELECT issuer_id, serial FROM certificates WHERE request_id = $1 AND status = 'good'",
      [requestId],
    );
    expect(certificates.rows).toEqual([{ issuer_id: application.issuerId, serial: application.serial }]);
    const ledger = await db.pool.query('SELECT count(*)::int AS n FROM ca_requests WHERE request_id = $1', [
      requestId,
    ]);
    expect(ledger.rows[0].n).toBe(1);
    const code = await ra('POST', `/v1/applications/${id}/download-code`, 'maker');
    expect(code.status, code.text).toBe(201);
  }, 120_000);
});
