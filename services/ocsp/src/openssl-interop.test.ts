import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  buildOcspRequest,
  derToPem,
  ocspGetPath,
  parseCertificate,
  sm2Verifier,
  verifyOcspResponse,
} from '@sm2ca/pki';
import type { HttpServer } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { rawRequest } from '../../../test/support/raw-http.ts';
import {
  basicOf,
  createOcspTestBed,
  type IssuedCertificate,
  type OcspTestBed,
} from './test-support/ocsp-test-bed.ts';

// Asynchronous on purpose: the responder answers from this same process.
const run = promisify(execFile);

describe('OpenSSL CLI against the responder over HTTP', () => {
  let bed: OcspTestBed;
  let app: HttpServer;
  let url: string;
  let dir: string;
  let good: IssuedCertificate;
  let revoked: IssuedCertificate;

  beforeAll(async () => {
    bed = await createOcspTestBed();
    [good, revoked] = [await bed.issue(), await bed.issue()];
    await bed.revoke(revoked, 'keyCompromise');
    app = await bed.responder();
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    url = `http://127.0.0.1:${port}/ocsp`;
    dir = mkdtempSync(join(tmpdir(), 'ocsp-interop-'));
    writeFileSync(join(dir, 'ca.pem'), derToPem(bed.subDer, 'CERTIFICATE'));
    writeFileSync(join(dir, 'good.pem'), derToPem(good.certificate, 'CERTIFICATE'));
    writeFileSync(join(dir, 'revoked.pem'), derToPem(revoked.certificate, 'CERTIFICATE'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await bed?.close();
  });

  /**
   * -noverify: OpenSSL 3.0 verifies SM2 signatures in OCSP responses under the empty signer
   * ID, not the GM/T 0009 default ID every GM relying party uses, so its check would fail on a
   * correct response. The signature is checked below with our verifier instead.
   */
  const ocsp = async (target: string[], respout: string, extra: string[] = []) => {
    const { stdout, stderr } = await run(
      'openssl',
      ['ocsp', '-issuer', 'ca.pem', ...target, '-url', url, '-noverify', '-respout', respout, ...extra],
      { cwd: dir },
    );
    return { output: stdout + stderr, der: readFileSync(join(dir, respout)) };
  };

  const verified = async (der: Buffer) => {
    const basic = basicOf(der);
    const signer = parseCertificate(basic.certs[0]!);
    return verifyOcspResponse(basic, signer.spki, sm2Verifier);
  };

  it('reports good, revoked (with reason) and unknown, with a nonce signed live', async () => {
    const goodAnswer = await ocsp(['-cert', 'good.pem'], 'good.der');
    expect(goodAnswer.output).toMatch(/good\.pem: good/);
    expect(goodAnswer.output).not.toMatch(/WARNING: no nonce|nonce verify error/i);
    const revokedAnswer = await ocsp(['-cert', 'revoked.pem'], 'revoked.der');
    expect(revokedAnswer.output).toMatch(/revoked\.pem: revoked/);
    expect(revokedAnswer.output).toMatch(/Reason: keyCompromise/);
    expect(revokedAnswer.output).toMatch(/Revocation Time:/);
    const unknownAnswer = await ocsp(['-serial', '0x1234'], 'unknown.der');
    expect(unknownAnswer.output).toMatch(/0x1234: unknown/);
    for (const answer of [goodAnswer, revokedAnswer, unknownAnswer]) {
      expect(basicOf(answer.der).nonce).toBeDefined();
      expect(await verified(answer.der)).toBe(true);
    }
  });

  it('gets the stored pre-signed response when it sends no nonce', async () => {
    const answer = await ocsp(['-cert', 'good.pem'], 'presigned.der', ['-no_nonce']);
    expect(answer.output).toMatch(/good\.pem: good/);
    const stored = (await bed.storedResponses(good.serial)).find((r) => r.hash_algorithm === 'sha1')!;
    expect(answer.der.equals(stored.der)).toBe(true);
    expect(await verified(answer.der)).toBe(true);
  });

  it('spells Content-Length and Content-Type in canonical case, as GmSSL ocspget looks for them', async () => {
    const request = buildOcspRequest([bed.certId(good.serial)]);
    for (const res of [
      await rawRequest(`${url}/${ocspGetPath(request)}`),
      await rawRequest(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/ocsp-request' },
        body: request,
      }),
    ]) {
      expect(res.status).toBe(200);
      expect(res.headerNames).toEqual(expect.arrayContaining(['Content-Length', 'Content-Type']));
      expect(res.headerNames).not.toEqual(expect.arrayContaining(['content-length']));
      expect(res.headers['content-length']).toBe(String(res.body.length));
      expect(res.headers['content-type']).toBe('application/ocsp-response');
      expect(basicOf(res.body).responses[0]!.certStatus.status).toBe('good');
    }
  });
});
