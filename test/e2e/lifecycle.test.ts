import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildOcspCertId,
  buildOcspRequest,
  CrlReason,
  ocspGetPath,
  parseCertificate,
  parseCrl,
  parseOcspResponse,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmDistId, openssl, opensslHolderCsr } from '../support/openssl-cli.ts';
import { type RaOperators, raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase } from '../support/test-database.ts';

/** CRLReason names by number, as OCSP and the CRLs give them. */
const reasonName = (reason: number | undefined): string =>
  Object.entries(CrlReason).find(([, value]) => value === (reason ?? 0))![0];

const person = { commonName: '张三', identity: { residentId: '11010519491231002X' } };

/**
 * The lifecycle after issuance with every service its own process: freeze and unfreeze,
 * renewal (same key, then a new key countersigned by the current one), re-key after
 * compromise and the archive. After each step OCSP and the CRLs say what the RA says, and
 * OpenSSL and `sm2ca lint` read every certificate issued.
 */
describe('certificate lifecycle end to end', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  let operators: RaOperators;
  let issuerDer: Buffer;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-lifecycle-'));
  let n = 0;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    // Archived as soon as revoked or expired, so the archive shows within the test.
    stack = await startStack(db.url, { SM2CA_ARCHIVE_AFTER_DAYS: '0', SM2CA_CRL_DEBOUNCE_SECONDS: '1' }, [
      'ca',
      'ra',
      'ocsp',
      'crl',
    ]);
    operators = await raOperators(stack);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  const ra = (...args: Parameters<RaOperators['ra']>) => operators.ra(...args);
  const approve = async (path: string) => {
    const res = await ra('POST', path, 'reviewer', { decision: 'approve' });
    expect(res.status, res.text).toBe(200);
    return res.json();
  };

  function newKey(): string {
    const name = `k${++n}`;
    opensslHolderCsr(dir, name, '/CN=holder');
    return name;
  }
  function csrOf(key: string): string {
    const file = `${key}.${++n}.csr`;
    openssl(
      ['req', '-new', '-key', `${key}.key`, '-sm3', '-sigopt', gmDistId, '-subj', '/CN=holder', '-out', file],
      dir,
    );
    return readFileSync(join(dir, file), 'utf8');
  }
  function countersign(key: string, csrPem: string): string {
    const der = openssl(['req', '-in', '-', '-outform', 'DER'], dir, Buffer.from(csrPem));
    return openssl(['dgst', '-sm3', '-sigopt', gmDistId, '-sign', `${key}.key`], dir, der).toString('base64');
  }

  /** Downloads the certificate with its code and has OpenSSL and the linter read it. */
  async function download(reference: string, code: string, serial: string): Promise<void> {
    const res = await ra('POST', '/v1/download', undefined, { reference, code, format: 'pem' });
    expect(res.status, res.text).toBe(200);
    const [leaf, sub] = res.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)!;
    writeFileSync(join(dir, `${serial}.pem`), leaf!);
    writeFileSync(join(dir, 'sub.pem'), sub!);
    issuerDer ??= openssl(['x509', '-in', 'sub.pem', '-outform', 'DER'], dir);
    const text = openssl(['x509', '-in', `${serial}.pem`, '-noout', '-serial', '-subject'], dir).toString();
    expect(text.toLowerCase()).toContain(`serial=${serial}`);
    expect(
      openssl(
        ['verify', '-vfyopt', gmDistId, '-partial_chain', '-CAfile', 'sub.pem', `${serial}.pem`],
        dir,
      ).toString(),
    ).toContain('OK');
    const lint = await stack.cli(['lint', join(dir, `${serial}.pem`), '--issuer', join(dir, 'sub.pem')]);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
  }

  async function issueNew(key: string) {
    const made = await operators.issue(csrOf(key), person);
    await download(made.download.reference, made.download.code, made.serial);
    return made;
  }

  /** The pre-signed OCSP answer: status and reason. */
  async function ocsp(serial: string): Promise<string> {
    const parsed = parseCertificate(issuerDer);
    const request = buildOcspRequest([
      buildOcspCertId(
        { subjectDer: parsed.subject, publicKey: publicKeyOfSpki(parsed.spki) },
        BigInt(`0x${serial}`),
      ).der,
    ]);
    const res = await fetch(`${stack.url.ocsp}/ocsp/${ocspGetPath(request)}`);
    const answer = parseOcspResponse(Buffer.from(await res.arrayBuffer()));
    if (answer.status !== 'successful') return answer.status;
    const status = answer.basic.responses[0]!.certStatus;
    return status.status === 'revoked' ? `revoked:${reasonName(status.reason)}` : status.status;
  }
  const ocspSays = (serial: string, expected: string) =>
    expect.poll(() => ocsp(serial), { timeout: 15_000, interval: 100 }).toBe(expected);

  /** The reason a CRL gives for `serial`, 'absent' when it has none. */
  function reasonOn(der: Buffer, serial: string): string {
    for (const entry of parseCrl(der).entries()) {
      if (entry.serial === BigInt(`0x${serial}`)) return reasonName(entry.reason);
    }
    return 'absent';
  }
  const fetchCrl = async (path: string) => {
    const res = await fetch(`${stack.url.crl}/crl/${path}`);
    return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
  };

  /** The reason the current full CRL gives for `serial`. */
  const fullCrl = async (serial: string) => {
    const der = await fetchCrl('sub.crl');
    return der ? reasonOn(der, serial) : 'none';
  };
  const fullCrlSays = (serial: string, expected: string) =>
    expect.poll(() => fullCrl(serial), { timeout: 60_000, interval: 250 }).toBe(expected);

  /** The number of the newest CRL (a full CRL comes with an empty delta numbered after it). */
  const crlNumber = async () => parseCrl((await fetchCrl('sub-delta.crl'))!).crlNumber!;

  /**
   * The reasons the delta CRLs published after CRL `since` gave for `serial`: each status change
   * is published as a delta, then a full CRL with an empty delta, so the change is seen in the archive.
   */
  async function deltaReasons(since: bigint, serial: string): Promise<string[]> {
    const reasons: string[] = [];
    for (let number = since + 1n; ; number++) {
      const der = await fetchCrl(`sub/${number}.crl`);
      if (!der) return reasons;
      if (parseCrl(der).baseCrlNumber !== undefined && reasonOn(der, serial) !== 'absent') {
        reasons.push(reasonOn(der, serial));
      }
    }
  }
  const deltaSays = (since: bigint, serial: string, expected: string) =>
    expect.poll(() => deltaReasons(since, serial), { timeout: 60_000, interval: 250 }).toContain(expected);

  it('freezes and unfreezes: OCSP and CRLs follow, a frozen certificate is revoked, a revoked one stays revoked', async () => {
    const made = await issueNew(newKey());
    await ocspSays(made.serial, 'good');
    const body = { issuerId: made.issuerId, serial: made.serial, requestedBy: 'holder, by phone' };

    let since = await crlNumber();
    const frozen = await ra('POST', '/v1/freezes', 'clerk', body);
    expect(frozen.status, frozen.text).toBe(201);
    expect((await approve(`/v1/revocations/${frozen.json().id}/review`)).status).toBe('done');
    await ocspSays(made.serial, 'revoked:certificateHold');
    await deltaSays(since, made.serial, 'certificateHold');
    await fullCrlSays(made.serial, 'certificateHold');

    since = await crlNumber();
    const thawed = await ra('POST', '/v1/unfreezes', 'clerk', body);
    expect(thawed.status, thawed.text).toBe(201);
    expect((await approve(`/v1/revocations/${thawed.json().id}/review`)).status).toBe('done');
    await ocspSays(made.serial, 'good');
    await deltaSays(since, made.serial, 'removeFromCRL');
    await fullCrlSays(made.serial, 'absent');
    openssl(['x509', '-in', `${made.serial}.pem`, '-noout', '-text'], dir);

    const again = await ra('POST', '/v1/freezes', 'clerk', body);
    await approve(`/v1/revocations/${again.json().id}/review`);
    await ocspSays(made.serial, 'revoked:certificateHold');
    await operators.revoke(made.issuerId, made.serial, 'keyCompromise');
    await ocspSays(made.serial, 'revoked:keyCompromise');
    await fullCrlSays(made.serial, 'keyCompromise');
    const refused = await ra('POST', '/v1/unfreezes', 'clerk', body);
    expect(refused.status).toBe(409);
    expect(refused.json().error.code).toBe('CERTIFICATE_REVOKED');
  }, 180_000);

  it('renews with the same key, then with a new key countersigned by the current one; the old are superseded', async () => {
    const key = newKey();
    const first = await issueNew(key);
    const renewal = await ra('POST', '/v1/renewals', 'clerk', {
      issuerId: first.issuerId,
      serial: first.serial,
      csr: csrOf(key),
    });
    expect(renewal.status, renewal.text).toBe(201);
    expect(renewal.json().replaces.holderEvidence).toEqual({ method: 'current-key', sameKey: true });
    await approve(`/v1/applications/${renewal.json().id}/review`);
    await ocspSays(first.serial, 'good');
    const second = await ra('POST', `/v1/applications/${renewal.json().id}/issue`, 'maker');
    expect(second.status, second.text).toBe(201);
    expect(second.json().supersession.status).toBe('done');
    const renewed = second.json();
    await download(renewed.download.reference, renewed.download.code, renewed.serial);
    // Same key: the certificates differ in serial only, their public keys are one.
    const pub = (serial: string) =>
      openssl(['x509', '-in', `${serial}.pem`, '-noout', '-pubkey'], dir).toString();
    expect(pub(renewed.serial)).toBe(pub(first.serial));
    await ocspSays(first.serial, 'revoked:superseded');
    await ocspSays(renewed.serial, 'good');
    await fullCrlSays(first.serial, 'superseded');
    expect(await fullCrl(renewed.serial)).toBe('absent');

    const stale = await ra('POST', '/v1/renewals', 'clerk', {
      issuerId: first.issuerId,
      serial: first.serial,
      csr: csrOf(key),
    });
    expect(stale.status).toBe(409);
    expect(stale.json().error.code).toBe('RENEWAL_CERTIFICATE_REVOKED');

    const since = await crlNumber();
    const next = newKey();
    const csr = csrOf(next);
    const rekeyed = await ra('POST', '/v1/renewals', 'clerk', {
      issuerId: renewed.issuerId,
      serial: renewed.serial,
      csr,
      currentKeySignature: countersign(key, csr),
    });
    expect(rekeyed.status, rekeyed.text).toBe(201);
    expect(rekeyed.json().replaces.holderEvidence).toEqual({ method: 'current-key', sameKey: false });
    await approve(`/v1/applications/${rekeyed.json().id}/review`);
    const third = await ra('POST', `/v1/applications/${rekeyed.json().id}/issue`, 'maker');
    expect(third.status, third.text).toBe(201);
    await download(third.json().download.reference, third.json().download.code, third.json().serial);
    expect(pub(third.json().serial)).not.toBe(pub(renewed.serial));
    await ocspSays(renewed.serial, 'revoked:superseded');
    await ocspSays(third.json().serial, 'good');
    await deltaSays(since, renewed.serial, 'superseded');
  }, 180_000);

  it('re-keys after compromise: the approval revokes at once, the maker issues the new key', async () => {
    const compromised = newKey();
    const made = await issueNew(compromised);
    const since = await crlNumber();
    const entered = await ra('POST', '/v1/rekeys', 'clerk', {
      issuerId: made.issuerId,
      serial: made.serial,
      csr: csrOf(newKey()),
      holder: person,
    });
    expect(entered.status, entered.text).toBe(201);
    await approve(`/v1/applications/${entered.json().id}/review`);
    await ocspSays(made.serial, 'revoked:keyCompromise');
    await deltaSays(since, made.serial, 'keyCompromise');
    const issued = await ra('POST', `/v1/applications/${entered.json().id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(201);
    const replacement = issued.json();
    await download(replacement.download.reference, replacement.download.code, replacement.serial);
    await ocspSays(replacement.serial, 'good');
    expect(await fullCrl(replacement.serial)).toBe('absent');
    const back = await ra('POST', '/v1/renewals', 'clerk', {
      issuerId: replacement.issuerId,
      serial: replacement.serial,
      csr: csrOf(compromised),
      holder: person,
    });
    expect(back.status).toBe(409);
    expect(back.json().error.code).toBe('KEY_COMPROMISED');
  }, 180_000);

  it('archives revoked certificates, still answered by OCSP, and shows them in queries and to the holder', async () => {
    const key = newKey();
    const made = await operators.issue(csrOf(key), person);
    await operators.revoke(made.issuerId, made.serial, 'cessationOfOperation');
    const archived = async () =>
      (
        await ra(
          'GET',
          `/v1/certificates?residentId=${person.identity.residentId}&status=archived`,
          'reviewer',
        )
      )
        .json()
        .items.map((c: { serial: string }) => c.serial);
    await expect.poll(archived, { timeout: 15_000, interval: 200 }).toContain(made.serial);
    await ocspSays(made.serial, 'revoked:cessationOfOperation');
    await fullCrlSays(made.serial, 'cessationOfOperation');
    const [row] = (await ra('GET', `/v1/certificates?serial=${made.serial}`, 'reviewer')).json().items;
    expect(row.archive).toMatchObject({ reason: 'revoked' });
    expect(Date.parse(row.archive.retainUntil)).toBeGreaterThan(
      Date.parse(row.notAfter) + 4 * 365 * 86_400_000,
    );

    const { reference, code } = made.download;
    const mine = await ra('POST', '/v1/holder/certificates', undefined, { reference, code });
    expect(mine.status, mine.text).toBe(200);
    const serials = mine.json().items.map((c: { serial: string }) => c.serial);
    expect(serials).toContain(made.serial);
    expect(serials.length).toBeGreaterThan(3);
  }, 180_000);
});
