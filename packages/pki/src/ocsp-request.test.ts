import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../../../test/support/openssl-ca.ts';
import { openssl } from '../../../test/support/openssl-cli.ts';
import {
  buildOcspCertId,
  type OcspHashAlgorithm,
  type OcspIssuer,
  ocspCertIdMatchesIssuer,
  ocspIssuerHashes,
  publicKeyOfSpki,
} from './ocsp-cert-id.ts';
import { parseOcspGetRequest, parseOcspRequest } from './ocsp-request.ts';
import { buildOcspRequest, ocspGetPath } from './ocsp-request-builder.ts';
import { PkiError } from './pki-error.ts';
import { fuzzParser } from './test-support/fuzz.ts';

let ca: TestCa;
let issuer: OcspIssuer;
let leafA: string;
let leafB: string;

beforeAll(() => {
  ca = createTestCa();
  issuer = { subjectDer: ca.subjectDer, publicKey: publicKeyOfSpki(ca.spkiDer) };
  leafA = ca.issueLeaf('0a1b2c3d4e5f6071');
  leafB = ca.issueLeaf('00ff0102');
});
afterAll(() => ca.dispose());

let requestNumber = 0;
function opensslRequest(args: string[]): Buffer {
  const file = `req-${requestNumber++}.der`;
  openssl(['ocsp', '-issuer', 'ca.pem', ...args, '-reqout', file], ca.dir);
  return readFileSync(join(ca.dir, file));
}

function expectMalformed(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(PkiError);
    expect((err as PkiError).code).toBe('OCSP_MALFORMED_REQUEST');
    return;
  }
  throw new Error('expected OCSP_MALFORMED_REQUEST');
}

describe('parseOcspRequest', () => {
  it('reads OpenSSL requests with nonce and two CertIDs, matching our own CertIDs', () => {
    const request = parseOcspRequest(opensslRequest(['-cert', leafA, '-cert', leafB]));
    expect(request.certIds.map((id) => id.serial)).toEqual([0x0a1b2c3d4e5f6071n, 0xff0102n]);
    expect(request.nonce?.length).toBe(18);
    expect(request.nonce?.subarray(0, 2)).toEqual(Buffer.from('0410', 'hex'));
    expect(request.signed).toBe(false);
    const ours = buildOcspCertId(issuer, 0x0a1b2c3d4e5f6071n, 'sha1');
    expect(request.certIds[0]).toEqual(ours);
    expect(ocspCertIdMatchesIssuer(request.certIds[1]!, ocspIssuerHashes(issuer, 'sha1'))).toBe(true);
  });

  it.each<[string, OcspHashAlgorithm]>([
    ['-sha1', 'sha1'],
    ['-sha256', 'sha256'],
    ['-sm3', 'sm3'],
  ])('reads a request without nonce hashed with %s', (flag, algorithm) => {
    const request = parseOcspRequest(opensslRequest(['-no_nonce', flag, '-cert', leafA]));
    expect(request.nonce).toBeUndefined();
    expect(request.certIds).toHaveLength(1);
    const [certId] = request.certIds;
    expect(certId!.hashAlgorithm).toBe(algorithm);
    expect(ocspCertIdMatchesIssuer(certId!, ocspIssuerHashes(issuer, algorithm))).toBe(true);
    expect(certId).toEqual(buildOcspCertId(issuer, Buffer.from('0a1b2c3d4e5f6071', 'hex'), algorithm));
  });

  it('reads GET paths, restoring + that became spaces and accepting base64url', () => {
    let der = opensslRequest(['-cert', leafA]);
    for (let i = 0; i < 30 && !der.toString('base64').includes('+'); i++)
      der = opensslRequest(['-cert', leafA]);
    const base64 = der.toString('base64');
    expect(base64).toContain('+');
    const expected = parseOcspRequest(der);
    expect(parseOcspGetRequest(`/${encodeURIComponent(base64)}`)).toEqual(expected);
    expect(parseOcspGetRequest(base64.replace(/\+/g, ' '))).toEqual(expected);
    expect(parseOcspGetRequest(der.toString('base64url'))).toEqual(expected);
  });

  it('rejects what is not a well-formed request with OCSP_MALFORMED_REQUEST', () => {
    const der = opensslRequest(['-cert', leafA, '-no_nonce']);
    expectMalformed(() => parseOcspRequest(opensslRequest(['-md5', '-cert', leafA])));
    expectMalformed(() => parseOcspRequest(der.subarray(0, der.length - 1)));
    expectMalformed(() => parseOcspRequest(Buffer.concat([der, Buffer.of(0)])));
    expectMalformed(() => parseOcspRequest(Buffer.from('3084ffffffff', 'hex')));
    expectMalformed(() => parseOcspRequest(Buffer.from('30053003300130', 'hex')));
    expectMalformed(() => parseOcspRequest(Buffer.from('3004300230', 'hex')));
    expectMalformed(() => parseOcspGetRequest('%E0%A4%A'));
    expectMalformed(() => parseOcspGetRequest('not*base64'));
    expectMalformed(() => parseOcspGetRequest(''));
  });

  it('refuses more CertIDs than the limit allows, on POST and GET alike', () => {
    const ids = (count: number) =>
      Array.from({ length: count }, (_, i) => buildOcspCertId(issuer, BigInt(i + 1)).der);
    expect(parseOcspRequest(buildOcspRequest(ids(20)), { maxCertIds: 20 }).certIds).toHaveLength(20);
    expect(parseOcspRequest(buildOcspRequest(ids(21))).certIds).toHaveLength(21);
    expectMalformed(() => parseOcspRequest(buildOcspRequest(ids(21)), { maxCertIds: 20 }));
    expectMalformed(() => parseOcspGetRequest(ocspGetPath(buildOcspRequest(ids(2))), { maxCertIds: 1 }));
  });

  it('throws nothing but PkiError on 10,000 random and mutated inputs', () => {
    fuzzParser(parseOcspRequest, opensslRequest(['-cert', leafA, '-cert', leafB]));
  });
});
