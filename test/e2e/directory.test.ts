import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCrl } from '@sm2ca/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { openssl, opensslHolderCsr } from '../support/openssl-cli.ts';
import { type RaOperators, raOperators } from '../support/ra-client.ts';
import { ldapValues, startTestDirectory, type TestDirectory } from '../support/slapd.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase } from '../support/test-database.ts';

const EVENTUALLY = { timeout: 30_000, interval: 250 };

/**
 * The directory service with every service its own process and a real slapd: what relying
 * parties find with ldapsearch after issuance with and without consent, after a revocation,
 * and after the directory was down while certificates changed.
 */
describe('directory publication end to end', () => {
  let stack: Stack;
  let ldap: TestDirectory;
  let drop: () => Promise<void>;
  let operators: RaOperators;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-directory-'));
  let holders = 0;

  beforeAll(async () => {
    ldap = await startTestDirectory();
    const db = await createTestDatabase();
    drop = db.drop;
    stack = await startStack(
      db.url,
      {
        ...ldap.env,
        SM2CA_LDAP_PUBLIC_URL: ldap.url,
        SM2CA_LDAP_RETRY_MAX_SECONDS: '1',
        SM2CA_CRL_DEBOUNCE_SECONDS: '1',
      },
      ['ca', 'ra', 'crl'],
    );
    operators = await raOperators(stack);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
    await ldap?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const issue = async (commonName: string, publishConsent: boolean) => {
    const { ra } = operators;
    const csr = opensslHolderCsr(dir, `holder-${++holders}`, '/C=CN/CN=holder');
    const entered = await ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-sign',
      holder: { commonName, identity: { residentId: '11010519491231002X' } },
      csr,
      publishConsent,
    });
    expect(entered.status, entered.text).toBe(201);
    const id = entered.json().id;
    expect(
      (await ra('POST', `/v1/applications/${id}/review`, 'reviewer', { decision: 'approve' })).status,
    ).toBe(200);
    const issued = await ra('POST', `/v1/applications/${id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(201);
    const { serial, download } = issued.json();
    const pem = await ra('POST', '/v1/download', undefined, {
      reference: download.reference,
      code: download.code,
      format: 'pem',
    });
    expect(pem.status, pem.text).toBe(200);
    const leaf = pem.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/)![0];
    const der = openssl(['x509', '-outform', 'DER'], dir, Buffer.from(leaf));
    return { serial: serial as string, der, pem: leaf };
  };
  const certificatesOf = (commonName: string) =>
    ldapValues(ldap.url, 'c=CN', `(cn=${commonName})`, 'userCertificate;binary');
  const directoryStatus = async () => {
    const res = await stack.cli(['directory', 'status', '--json']);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as { pending: number; oldestPending?: { lastError?: string } };
  };
  const fullCrlLists = (serial: string) =>
    ldapValues(ldap.url, 'c=CN', '(objectClass=pkiCA)', 'certificateRevocationList;binary')
      .map((der) => parseCrl(der))
      .some((crl) => [...crl.entries()].some((e) => e.serial === BigInt(`0x${serial}`)));

  it('says at start-up where it publishes', () => {
    expect(stack.output()).toContain(`directory: publishing to ${ldap.url}`);
  });

  it('publishes a consenting holder certificate under the holder, with an ldap:// CRL distribution point', async () => {
    const { der, pem } = await issue('周一', true);
    await expect.poll(() => certificatesOf('周一'), EVENTUALLY).toEqual([der]);
    writeFileSync(join(dir, 'leaf.pem'), pem);
    const text = openssl(['x509', '-in', 'leaf.pem', '-noout', '-text'], dir).toString();
    expect(text).toContain(`URI:${stack.url.crl}/crl/sub.crl`);
    expect(text).toMatch(/URI:ldap:\/\/127\.0\.0\.1:\d+\/cn=SM2CA%20/);
    // The URL names the CA entry the CRL is published on.
    const url = new URL(text.match(/URI:(ldap:\/\/\S+)/)![1]!);
    expect(url.search).toBe('?certificateRevocationList;binary');
    const entry = decodeURIComponent(url.pathname.slice(1));
    const crls = () => ldapValues(ldap.url, entry, '(objectClass=pkiCA)', 'certificateRevocationList;binary');
    await expect.poll(() => crls().length, EVENTUALLY).toBe(1);
  });

  it('never publishes the certificate of a holder who refused', async () => {
    await issue('吴二', false);
    await expect.poll(async () => (await directoryStatus()).pending, EVENTUALLY).toBe(0);
    expect(certificatesOf('吴二')).toEqual([]);
  });

  it('removes a revoked certificate from the holder entry; the next CRL in the directory lists it', async () => {
    const { serial } = await issue('郑三', true);
    await expect.poll(() => certificatesOf('郑三').length, EVENTUALLY).toBe(1);
    await operators.revoke('sub', serial);
    await expect.poll(() => certificatesOf('郑三'), EVENTUALLY).toEqual([]);
    await expect.poll(() => fullCrlLists(serial), EVENTUALLY).toBe(true);
  });

  it('catches up in order, with nothing missing, after the directory was down', async () => {
    const first = await issue('冯四', true);
    await expect.poll(() => certificatesOf('冯四').length, EVENTUALLY).toBe(1);
    await ldap.stop();
    await operators.revoke('sub', first.serial);
    const second = await issue('冯四', true);
    await expect
      .poll(async () => (await directoryStatus()).oldestPending?.lastError ?? '', EVENTUALLY)
      .toMatch(/ECONNREFUSED|connect/i);
    await ldap.start();
    await expect.poll(async () => (await directoryStatus()).pending, EVENTUALLY).toBe(0);
    expect(certificatesOf('冯四')).toEqual([second.der]);
    expect(fullCrlLists(first.serial)).toBe(true);
  });
});

describe('sm2ca start with slapd installed and no SM2CA_LDAP_URL', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  let port: number;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    port = await freePort();
    stack = await startStack(db.url, { SM2CA_LDAP_PORT: String(port) }, ['crl']);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
  });

  it('runs a local slapd under the home and publishes the CA certificates to it', async () => {
    expect(stack.output()).toContain(`directory: local slapd on ldap://127.0.0.1:${port}`);
    await expect
      .poll(
        () =>
          ldapValues(`ldap://127.0.0.1:${port}`, 'c=CN', '(objectClass=pkiCA)', 'cACertificate;binary')
            .length,
        EVENTUALLY,
      )
      .toBe(2);
  });
});
