import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildOcspCertId,
  buildOcspRequest,
  ocspGetPath,
  parseCertificate,
  parseOcspResponse,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmDistId, openssl, opensslHolderCsr } from '../support/openssl-cli.ts';
import { type RaOperators, raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase } from '../support/test-database.ts';

const residentWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/** The n-th valid GB 11643 number born 1990-05-05 in Beijing Chaoyang. */
function residentId(n: number): string {
  const body = `11010519900505${String(n).padStart(3, '0')}`;
  const sum = residentWeights.reduce((acc, w, i) => acc + w * Number(body[i]), 0);
  return body + '10X98765432'[sum % 11];
}

/**
 * A batch through the RA and the real CA, each its own process: the bad rows reported by
 * code at entry, the good ones reviewed as a batch, issued in one operation, each downloaded
 * by its holder's reference and code, read by OpenSSL, clean under `sm2ca lint`, good at OCSP.
 */
describe('batch issuance end to end', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  let operators: RaOperators;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-batch-'));

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    stack = await startStack(db.url, {}, ['ca', 'ra', 'ocsp']);
    operators = await raOperators(stack);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ocsp(issuerDer: Buffer, serial: string): Promise<string> {
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
    return answer.basic.responses[0]!.certStatus.status;
  }

  it('issues the good rows of a batch with bad rows, each reported with its code', async () => {
    const csr = (n: number) => opensslHolderCsr(dir, `h${n}`, '/CN=holder');
    const person = (n: number, overrides: Record<string, unknown> = {}) => ({
      holderType: 'person',
      profile: 'person-sign',
      holder: { commonName: `批量${n}`, identity: { residentId: residentId(n) } },
      csr: csr(n),
      publishConsent: false,
      ...overrides,
    });
    const rows = [
      person(1),
      person(2),
      person(3, { holder: { commonName: '坏号', identity: { residentId: '110105199005050010' } } }),
      person(4, { csr: 'MIIBbad=' }),
      person(5),
      person(6, { profile: 'root-ca' }),
      {
        holderType: 'organisation',
        profile: 'organization-sign',
        holder: { commonName: '某公司', identity: { unifiedSocialCreditCode: '91350100M000100Y44' } },
        csr: csr(7),
        publishConsent: false,
      },
      person(8),
    ];
    rows.push({ ...person(9), csr: rows[0]!.csr });

    const entered = await operators.ra('POST', '/v1/batches', 'clerk', { rows });
    expect(entered.status, entered.text).toBe(201);
    const { batch, invalid } = entered.json();
    expect(invalid.map((r: { rowNumber: number; code: string }) => `${r.rowNumber}:${r.code}`)).toEqual([
      '3:IDENTITY_INVALID',
      '4:CSR_MALFORMED',
      '6:PROFILE_UNKNOWN',
      '7:IDENTITY_INVALID',
      '9:ROW_DUPLICATE',
    ]);
    const reviewed = await operators.ra('POST', `/v1/batches/${batch.id}/review`, 'reviewer', {
      decision: 'approve',
    });
    expect(reviewed.status, reviewed.text).toBe(200);
    expect(reviewed.json().decided).toBe(4);

    const issued = await operators.ra('POST', `/v1/batches/${batch.id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(200);
    const result = issued.json();
    expect(result.failed).toEqual([]);
    expect(result.issued.map((r: { rowNumber: number }) => r.rowNumber)).toEqual([1, 2, 5, 8]);
    const shown = await operators.ra('GET', `/v1/batches/${batch.id}`, 'maker');
    expect(shown.json().counts).toEqual({
      rows: 9,
      invalid: 5,
      submitted: 0,
      approved: 0,
      rejected: 0,
      issued: 4,
      failed: 0,
    });

    let issuerDer: Buffer | undefined;
    for (const row of result.issued as Array<{
      serial: string;
      download: { reference: string; code: string };
    }>) {
      const res = await operators.ra('POST', '/v1/download', undefined, {
        reference: row.download.reference,
        code: row.download.code,
        format: 'pem',
      });
      expect(res.status, res.text).toBe(200);
      const [leaf, sub] = res.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)!;
      writeFileSync(join(dir, `${row.serial}.pem`), leaf!);
      writeFileSync(join(dir, 'sub.pem'), sub!);
      issuerDer ??= openssl(['x509', '-in', 'sub.pem', '-outform', 'DER'], dir);
      const text = openssl(['x509', '-in', `${row.serial}.pem`, '-noout', '-serial'], dir).toString();
      expect(text.toLowerCase()).toContain(`serial=${row.serial}`);
      expect(
        openssl(
          ['verify', '-vfyopt', gmDistId, '-partial_chain', '-CAfile', 'sub.pem', `${row.serial}.pem`],
          dir,
        ).toString(),
      ).toContain('OK');
      const lint = await stack.cli([
        'lint',
        join(dir, `${row.serial}.pem`),
        '--issuer',
        join(dir, 'sub.pem'),
      ]);
      expect(lint.code, lint.stdout + lint.stderr).toBe(0);
      await expect.poll(() => ocsp(issuerDer!, row.serial), { timeout: 15_000, interval: 100 }).toBe('good');
    }

    // Issued once: asking again sends nothing and makes no certificate.
    const again = await operators.ra('POST', `/v1/batches/${batch.id}/issue`, 'maker');
    expect(again.json()).toMatchObject({ issued: [], failed: [], batch: { counts: { issued: 4 } } });
  }, 120_000);
});
