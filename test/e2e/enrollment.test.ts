import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmDistId, openssl, opensslHolderCsr } from '../support/openssl-cli.ts';
import { type RaOperators, raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase } from '../support/test-database.ts';

/**
 * The first job of the product, end to end with every service as its own
 * process: entry clerk → reviewer → certificate maker → holder download, then
 * revocation; checked with the OpenSSL CLI and `sm2ca lint`.
 */
describe('enrollment end to end', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  let ra: RaOperators['ra'];
  const dir = mkdtempSync(join(tmpdir(), 'e2e-enrollment-'));

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    stack = await startStack(db.url, {}, ['ca', 'ra']);
    ({ ra } = await raOperators(stack));
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
  });

  it('enters, reviews, issues and hands over a certificate that OpenSSL and the linter accept', async () => {
    const csr = opensslHolderCsr(dir, 'holder', '/C=CN/CN=Zhang San');
    const entered = await ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-sign',
      holder: { commonName: '张三', identity: { residentId: '11010519491231002X' } },
      csr,
      publishConsent: true,
    });
    expect(entered.status, entered.text).toBe(201);
    const id = entered.json().id;
    expect(Date.parse(entered.json().deadline)).toBeGreaterThan(Date.now());

    const selfReview = await ra('POST', `/v1/applications/${id}/review`, 'clerk', { decision: 'approve' });
    expect(selfReview.status).toBe(403);
    const reviewed = await ra('POST', `/v1/applications/${id}/review`, 'reviewer', { decision: 'approve' });
    expect(reviewed.status, reviewed.text).toBe(200);

    const issued = await ra('POST', `/v1/applications/${id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(201);
    const { reference, code } = issued.json().download;

    const download = await ra('POST', '/v1/download', undefined, { reference, code, format: 'pem' });
    expect(download.status, download.text).toBe(200);
    const pems = download.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)!;
    expect(pems).toHaveLength(3);
    const [leaf, sub, root] = pems as [string, string, string];
    writeFileSync(join(dir, 'leaf.pem'), leaf);
    writeFileSync(join(dir, 'sub.pem'), sub);
    writeFileSync(join(dir, 'root.pem'), root);
    writeFileSync(join(dir, 'chain.pem'), sub + root);
    expect((await ra('POST', '/v1/download', undefined, { reference, code, format: 'pem' })).status).toBe(
      410,
    );

    // OpenSSL 3.0 applies -vfyopt distid to the target certificate only (openssl#23471), so every
    // link of the chain is verified on its own, each under the GM default signer ID.
    expect(
      openssl(
        ['verify', '-vfyopt', gmDistId, '-partial_chain', '-CAfile', 'sub.pem', 'leaf.pem'],
        dir,
      ).toString(),
    ).toContain('leaf.pem: OK');
    expect(
      openssl(['verify', '-vfyopt', gmDistId, '-CAfile', 'root.pem', 'sub.pem'], dir).toString(),
    ).toContain('sub.pem: OK');
    const text = openssl(['x509', '-in', 'leaf.pem', '-noout', '-text'], dir).toString();
    expect(text).toContain('Digital Signature, Non Repudiation');
    expect(text).toContain(`URI:${stack.url.crl}/crl/sub.crl`);

    const lint = await stack.cli(['lint', join(dir, 'leaf.pem'), '--issuer', join(dir, 'sub.pem')]);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
  });

  it('records a revocation from request through review to the CA, with decided and done times', async () => {
    const certificates = await ra('GET', '/v1/certificates?status=good', 'reviewer');
    const target = certificates.json().items.find((c: { profile: string }) => c.profile === 'person-sign');
    const requested = await ra('POST', '/v1/revocations', 'clerk', {
      issuerId: target.issuerId,
      serial: target.serial,
      reason: 'keyCompromise',
      requestedBy: 'the holder, by phone, identity checked',
    });
    expect(requested.status, requested.text).toBe(201);
    const id = requested.json().id;
    const approved = await ra('POST', `/v1/revocations/${id}/review`, 'reviewer', { decision: 'approve' });
    expect(approved.status, approved.text).toBe(200);
    const record = (await ra('GET', `/v1/revocations/${id}`, 'reviewer')).json();
    expect(record.status).toBe('done');
    expect(Date.parse(record.decidedAt)).toBeLessThanOrEqual(Date.parse(record.doneAt));
    const after = (await ra('GET', `/v1/certificates?serial=${target.serial}`, 'reviewer')).json();
    expect(after.items[0].status).toBe('revoked');
  });

  it('keeps roles apart across the running services', async () => {
    const asMaker = await ra('POST', '/v1/revocations', 'maker', {
      issuerId: 'sub',
      serial: '00',
      reason: 'superseded',
      requestedBy: 'x',
    });
    expect(asMaker.status).toBe(403);
    expect(asMaker.json().error.code).toBe('ROLE_FORBIDDEN');
    const anonymous = await ra('GET', '/v1/applications', undefined);
    expect(anonymous.status).toBe(401);
  });
});
