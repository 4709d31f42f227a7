import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildOcspCertId,
  buildOcspRequest,
  ocspGetPath,
  parseCertificate,
  parseCrl,
  parseOcspResponse,
  publicKeyOfSpki,
  sm2Verifier,
  verifyCrlSignature,
  verifyOcspResponse,
} from '@sm2ca/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl, opensslHolderCsr } from '../support/openssl-cli.ts';
import { raOperators } from '../support/ra-client.ts';
import { type Stack, sm2caCli, startStack } from '../support/sm2ca-stack.ts';
import { addStackOperator } from '../support/stack-operators.ts';
import { createTestDatabase } from '../support/test-database.ts';

/**
 * What relying parties see, with every service as its own process: OCSP and
 * CRLs follow issuance and revocation; OpenSSL reads both.
 */
describe('certificate status end to end', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  let operators: Awaited<ReturnType<typeof raOperators>>;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-status-'));
  let leaf: { issuerId: string; serial: string };
  let issuerDer: Buffer;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    stack = await startStack(db.url);
    operators = await raOperators(stack);
    leaf = await operators.issue(opensslHolderCsr(dir, 'holder', '/C=CN/CN=Status Holder'), {
      commonName: '王五',
      identity: { residentId: '11010519491231002X' },
    });
    const { download } = leaf as unknown as { download: { reference: string; code: string } };
    const pem = await operators.ra('POST', '/v1/download', undefined, {
      reference: download.reference,
      code: download.code,
      format: 'pem',
    });
    const [leafPem, subPem] = pem.text.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g,
    )!;
    writeFileSync(join(dir, 'leaf.pem'), leafPem!);
    writeFileSync(join(dir, 'sub.pem'), subPem!);
    issuerDer = Buffer.from(
      (await (await fetch(`${stack.url.crl}/ca/${leaf.issuerId}.cer`)).arrayBuffer()) as ArrayBuffer,
    );
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  const ocspUrl = () => `${stack.url.ocsp}/ocsp`;
  const issuer = () => {
    const parsed = parseCertificate(issuerDer);
    return { subjectDer: parsed.subject, publicKey: publicKeyOfSpki(parsed.spki) };
  };
  const ocspStatus = async (serial: string, nonce?: Buffer) => {
    const request = buildOcspRequest([buildOcspCertId(issuer(), BigInt(`0x${serial}`)).der], nonce);
    const res = nonce
      ? await fetch(ocspUrl(), {
          method: 'POST',
          headers: { 'content-type': 'application/ocsp-request' },
          body: request,
        })
      : await fetch(`${ocspUrl()}/${ocspGetPath(request)}`);
    const der = Buffer.from(await res.arrayBuffer());
    return parseOcspResponse(der);
  };
  const ocspCli = (args: string[]) =>
    openssl(['ocsp', '-issuer', 'sub.pem', ...args, '-url', ocspUrl(), '-noverify'], dir).toString();

  it('answers good for an issued certificate, to OpenSSL and with a signature our verifier accepts', async () => {
    // OpenSSL 3.0 cannot check SM2 OCSP signatures under the GM default ID, hence -noverify and our own check.
    expect(ocspCli(['-cert', 'leaf.pem'])).toMatch(/leaf\.pem: good/);
    const nonce = Buffer.from('e2e-nonce-0001');
    const answer = await ocspStatus(leaf.serial, nonce);
    expect(answer.status).toBe('successful');
    if (answer.status !== 'successful') return;
    // The extension value is echoed byte for byte: an OCTET STRING wrapping the nonce (RFC 8954).
    expect(answer.basic.nonce?.equals(Buffer.concat([Buffer.of(0x04, nonce.length), nonce]))).toBe(true);
    expect(answer.basic.responses[0]!.certStatus).toMatchObject({ status: 'good' });
    const signer = parseCertificate(answer.basic.certs[0]!);
    expect(await verifyOcspResponse(answer.basic, signer.spki, sm2Verifier)).toBe(true);
  });

  it('answers unknown for a serial never issued and malformedRequest for garbage', async () => {
    expect(ocspCli(['-serial', '0x1234567890abcdef'])).toMatch(/0x1234567890ABCDEF: unknown/i);
    const garbage = await fetch(ocspUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: Buffer.from('definitely not DER'),
    });
    expect(parseOcspResponse(Buffer.from(await garbage.arrayBuffer())).status).toBe('malformedRequest');
  });

  // Latency goals (OCSP ≤ 1 s, CRL ≤ 60 s at p99) are measured by bench/revocation; here the bounds
  // only keep a loaded CI machine from turning a slow moment into a failure.
  it('shows a revocation on OCSP and on a new full CRL without any restart or expiry', async () => {
    await operators.revoke(leaf.issuerId, leaf.serial, 'keyCompromise');
    await expect
      .poll(
        async () => {
          const answer = await ocspStatus(leaf.serial);
          return answer.status === 'successful'
            ? answer.basic.responses[0]!.certStatus.status
            : answer.status;
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe('revoked');
    expect(ocspCli(['-cert', 'leaf.pem'])).toMatch(/leaf\.pem: revoked/);

    const serial = BigInt(`0x${leaf.serial}`);
    const onCrl = async () => {
      const der = Buffer.from(await (await fetch(`${stack.url.crl}/crl/${leaf.issuerId}.crl`)).arrayBuffer());
      const crl = parseCrl(der);
      for (const entry of crl.entries()) if (entry.serial === serial) return der;
      return undefined;
    };
    await expect.poll(onCrl, { timeout: 60_000, interval: 250 }).toBeDefined();
    const der = (await onCrl())!;
    writeFileSync(join(dir, 'full.crl'), der);
    expect(await verifyCrlSignature(parseCrl(der), parseCertificate(issuerDer).spki, sm2Verifier)).toBe(true);
    const text = openssl(['crl', '-inform', 'DER', '-in', 'full.crl', '-noout', '-text'], dir).toString();
    expect(text).toContain(leaf.serial.toUpperCase());
    expect(text).toContain('Key Compromise');

    const publication = await (
      await fetch(`${stack.url.crl}/v1/revocations/${leaf.issuerId}/${leaf.serial}/publication`)
    ).json();
    expect(JSON.stringify(publication)).toMatch(/delaySeconds/);
  });

  it('serves the CA certificate the certificates point to', async () => {
    const text = openssl(['x509', '-in', 'leaf.pem', '-noout', '-text'], dir).toString();
    const caIssuers = /CA Issuers - URI:(\S+)/.exec(text)![1]!;
    const fetched = Buffer.from(await (await fetch(caIssuers)).arrayBuffer());
    expect(fetched.equals(issuerDer)).toBe(true);
    expect(readFileSync(join(dir, 'sub.pem'), 'utf8')).toContain(issuerDer.toString('base64').slice(0, 60));
  });

  it('shows the revocation on the revocation clock and the CRL archive as kept, through the CLI', async () => {
    const env = {
      ...stack.env,
      SM2CA_OPERATOR_CREDENTIAL: await addStackOperator(stack, 'auditor', ['auditor']),
    };

    const clock = await sm2caCli(['evidence', 'revocations', '--detail'], env);
    expect(clock.code, clock.stderr).toBe(0);
    const { months, revocations } = JSON.parse(clock.stdout);
    const times = revocations.find((r: { serial: string }) => r.serial === leaf.serial);
    expect(times.status).toBe('done');
    const steps = [times.requestedAt, times.decidedAt, times.ocspAt, times.firstCrlAt].map(Date.parse);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(times.decidedToCrlSeconds).toBeLessThan(24 * 3600);
    expect(months.at(-1)).toMatchObject({ requested: 1, onCrl: 1, overRule: 0 });

    const crls = await sm2caCli(['evidence', 'crls'], env);
    expect(crls.code, crls.stdout + crls.stderr).toBe(0);
    const issuer = JSON.parse(crls.stdout).issuers.find(
      (i: { issuerId: string }) => i.issuerId === leaf.issuerId,
    );
    expect(issuer).toMatchObject({ ok: true, gaps: [], digestMismatches: [], retentionDays: 0 });
    expect(issuer.fullCount).toBeGreaterThanOrEqual(2);

    const refused = await sm2caCli(['evidence', 'crls'], {
      ...stack.env,
      SM2CA_OPERATOR_CREDENTIAL: 'sm2op_nobody',
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/AUTH_INVALID/);
  });

  it('exposes Prometheus metrics on every service, counting what happened above', async () => {
    const scrape = async (url: string) => {
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return res.text();
    };
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    for (const [service, url] of Object.entries(stack.url)) {
      const text = await scrape(url);
      expect(text).toMatch(new RegExp(`process_cpu_seconds_total\\{service="${service}"\\}`));
      expect(text).toMatch(/sm2ca_db_pool_connections\{state="total",service="\w+"\} \d+/);
      // Route templates, never raw URLs with serials in them.
      expect(text).not.toMatch(new RegExp(leaf.serial));
    }
    const ca = await scrape(stack.url.ca);
    expect(
      value(ca, 'sm2ca_certificates_issued_total{profile="person-sign",service="ca"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(value(ca, 'sm2ca_certificates_revoked_total{reason="keyCompromise",service="ca"}')).toBe(1);
    expect(
      value(
        ca,
        'http_requests_total{method="POST",route="/v1/instructions/issue",status_code="200",service="ca"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(ca).toMatch(/sm2ca_device_operation_duration_seconds_count\{[^}]*operation="sign"[^}]*\} [1-9]/);

    const ocsp = await scrape(stack.url.ocsp);
    expect(
      value(ocsp, 'sm2ca_ocsp_responses_total{status="malformedRequest",source="none",service="ocsp"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(ocsp).toMatch(
      /sm2ca_ocsp_responses_total\{status="successful",source="(presigned|on_demand)",service="ocsp"\} [1-9]/,
    );
    expect(ocsp).toMatch(
      /sm2ca_ocsp_responses_total\{status="successful",source="live",service="ocsp"\} [1-9]/,
    );

    const crl = await scrape(stack.url.crl);
    const thisUpdate = value(
      crl,
      `sm2ca_crl_this_update_timestamp_seconds{issuer="${leaf.issuerId}",kind="full",service="crl"}`,
    );
    expect(thisUpdate).toBeGreaterThan(Date.now() / 1000 - 3600);
    expect(
      value(crl, `sm2ca_crl_number{issuer="${leaf.issuerId}",kind="full",service="crl"}`),
    ).toBeGreaterThanOrEqual(2);

    const ra = await scrape(stack.url.ra);
    expect(value(ra, 'sm2ca_applications_undecided{overdue="true",service="ra"}')).toBe(0);
  });
});
