import { parseCrl } from '@sm2ca/pki';
import { addOperator, createLogger, type HttpServer, loadConfig } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ldapValues, startTestDirectory, type TestDirectory } from '../../../test/support/slapd.ts';
import { type CaTestBed, createCaTestBed } from '../../ca/src/test-support/ca-test-bed.ts';
import { buildCrlApp } from './app.ts';

const EVENTUALLY = { timeout: 20_000, interval: 200 };
const cli = { name: 'cli', role: 'cli' };

/**
 * The publisher in the CRL service against a real slapd: CA certificates and CRLs on the CA
 * entry, a consenting holder's certificate on its entry, nothing for a holder who refused, a
 * revoked certificate taken away, and a directory that was down brought up to date.
 */
describe('directory publication', () => {
  let bed: CaTestBed;
  let app: HttpServer;
  let ldap: TestDirectory;
  let auditor: string;
  let clerkId: string;

  beforeAll(async () => {
    ldap = await startTestDirectory();
    bed = await createCaTestBed();
    const config = loadConfig({
      SM2CA_HOME: bed.config.home,
      SM2CA_CRL_DEBOUNCE_SECONDS: '1',
      SM2CA_LDAP_RETRY_MAX_SECONDS: '1',
      ...ldap.env,
    });
    app = await buildCrlApp(
      {
        config,
        log: createLogger('crl', { level: 'silent' }),
        db: { pool: bed.db.pool, url: bed.db.url, close: async () => {} },
        device: bed.device,
      },
      { leaderRetryMs: 200 },
    );
    await app.ready();
    auditor = (
      await addOperator(bed.db.pool, cli, { name: 'auditor', identity: 'id-auditor', roles: ['auditor'] })
    ).credential;
    clerkId = (
      await addOperator(bed.db.pool, cli, { name: 'clerk', identity: 'id-clerk', roles: ['entry_clerk'] })
    ).operator.id;
  });
  afterAll(async () => {
    await app?.close();
    await bed?.close();
    await ldap?.remove();
  });

  /** A certificate issued through an application, recorded as the RA records it. */
  const issueFor = async (commonName: string, consent: boolean) => {
    const issued = await bed.issue(commonName);
    const { rows } = await bed.db.pool.query(
      `INSERT INTO applications (status, holder_type, holder, holder_key, profile, csr, publish_consent,
                                entered_by, deadline, deadline_provisional, template_version)
       VALUES ('approved', 'person', '{}', $1, 'person-sign', '\\x00', $2, $3, now() + interval '1 day', false, 1)
       RETURNING id`,
      [`holder:${commonName}`, consent, clerkId],
    );
    await bed.db.pool.query(
      `UPDATE applications SET status = 'issued', issuer_id = $2, serial = $3, issued_at = now() WHERE id = $1`,
      [rows[0].id, issued.issuerId, issued.serial],
    );
    return { ...issued, der: Buffer.from(issued.certificate, 'base64') };
  };
  const revoke = async (serial: string) => {
    const res = await bed.instruct('/v1/instructions/revoke', {
      operation: 'revoke',
      issuerId: 'sub',
      serial,
      reason: 'keyCompromise',
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  const holderCertificates = (commonName: string) =>
    ldapValues(ldap.url, 'c=CN', `(cn=${commonName})`, 'userCertificate;binary');
  const status = async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/v1/directory',
      headers: { authorization: `Bearer ${auditor}` },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const drained = () => expect.poll(async () => (await status()).pending, EVENTUALLY).toBe(0);
  const newestCrl = async (kind: 'full' | 'delta') => {
    const { rows } = await bed.db.pool.query(
      "SELECT der FROM crls WHERE issuer_id = 'sub' AND kind = $1 ORDER BY crl_number DESC LIMIT 1",
      [kind],
    );
    return rows[0].der as Buffer;
  };
  const directoryCrl = (attribute: string) =>
    ldapValues(ldap.url, 'c=CN', '(objectClass=pkiCA)', attribute).map((der) => parseCrl(der));

  it('puts the CA certificates and their current CRLs on the CA entries', async () => {
    // The first CRLs come when the CRL publisher is elected; the queue may be empty before that.
    await expect
      .poll(
        async () => (await bed.db.pool.query("SELECT FROM crls WHERE issuer_id = 'sub'")).rowCount,
        EVENTUALLY,
      )
      .toBeGreaterThanOrEqual(2);
    await drained();
    const caCertificates = ldapValues(ldap.url, 'c=CN', '(objectClass=pkiCA)', 'cACertificate;binary');
    expect(caCertificates).toHaveLength(2);
    const full = parseCrl(await newestCrl('full'));
    expect(directoryCrl('certificateRevocationList;binary').map((c) => c.crlNumber)).toContain(
      full.crlNumber,
    );
    expect(directoryCrl('deltaRevocationList;binary').length).toBeGreaterThan(0);
  });

  it('publishes a consenting holder certificate and never one whose holder refused', async () => {
    const published = await issueFor('李四', true);
    const refused = await issueFor('王五', false);
    await drained();
    expect(holderCertificates('李四')).toEqual([published.der]);
    expect(holderCertificates('王五')).toEqual([]);
    expect(refused.serial).not.toBe(published.serial);
  });

  it('removes a revoked certificate from its holder entry and publishes the CRL that lists it', async () => {
    const kept = await issueFor('赵六', true);
    const revoked = await issueFor('赵六', true);
    await drained();
    expect(holderCertificates('赵六')).toHaveLength(2);
    await revoke(revoked.serial);
    await expect.poll(() => holderCertificates('赵六'), EVENTUALLY).toEqual([kept.der]);
    await expect
      .poll(
        () =>
          directoryCrl('certificateRevocationList;binary').some((crl) =>
            [...crl.entries()].some((e) => e.serial === BigInt(`0x${revoked.serial}`)),
          ),
        EVENTUALLY,
      )
      .toBe(true);
  });

  it('keeps what happened while the directory was down and catches up in order once it is back', async () => {
    const earlier = await issueFor('孙七', true);
    await drained();
    await ldap.stop();
    await revoke(earlier.serial);
    const later = await issueFor('孙七', true);
    await expect
      .poll(async () => (await status()).oldestPending?.lastError ?? '', EVENTUALLY)
      .toMatch(/ECONNREFUSED|connect/i);
    expect((await status()).pending).toBeGreaterThanOrEqual(2);
    await ldap.start();
    await drained();
    expect(holderCertificates('孙七')).toEqual([later.der]);
    const { rows } = await bed.db.pool.query(
      `SELECT serial FROM directory_outbox WHERE kind = 'certificate' AND entry_key = 'holder:C=CN, CN=孙七'
        ORDER BY published_at, id`,
    );
    expect(rows.map((r) => r.serial)).toEqual([earlier.serial, earlier.serial, later.serial]);
  });

  it('shows the queue to auditors only', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/directory' });
    expect(res.statusCode).toBe(401);
    expect(await status()).toMatchObject({ enabled: true, leader: true, pending: 0, failing: 0 });
  });
});
