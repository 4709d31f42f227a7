import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../../../test/support/openssl-ca.ts';
import { openssl, opensslOutput } from '../../../test/support/openssl-cli.ts';
import { smCryptoVerifier } from '../../../test/support/sm-crypto-signer.ts';
import { CrlReason } from './crl-reason.ts';
import { buildOcspCertId, type OcspIssuer, ocspCacheKey, publicKeyOfSpki } from './ocsp-cert-id.ts';
import { parseOcspRequest } from './ocsp-request.ts';
import {
  buildOcspErrorResponse,
  buildOcspResponse,
  type OcspErrorStatus,
  type OcspResponder,
  ocspResponderFromCertificate,
} from './ocsp-response.ts';
import {
  type ParsedBasicOcspResponse,
  parseOcspResponse,
  verifyOcspResponse,
} from './ocsp-response-parse.ts';
import { PkiError } from './pki-error.ts';
import { sm2Verifier } from './sm2-verifier.ts';
import { fuzzParser } from './test-support/fuzz.ts';

let ca: TestCa;
let issuer: OcspIssuer;
let responder: OcspResponder;
let goodLeaf: string;
let revokedLeaf: string;

beforeAll(() => {
  ca = createTestCa();
  issuer = { subjectDer: ca.subjectDer, publicKey: publicKeyOfSpki(ca.spkiDer) };
  responder = ocspResponderFromCertificate(ca.certDer);
  goodLeaf = ca.issueLeaf('1001');
  revokedLeaf = ca.issueLeaf('1002');
});
afterAll(() => ca.dispose());

// Relative to now: `openssl ocsp` checks thisUpdate/nextUpdate against the clock.
const HOUR = 3_600_000;
const nowSecond = Math.floor(Date.now() / 1000) * 1000;
const producedAt = new Date(nowSecond + 750);
const thisUpdate = new Date(nowSecond - HOUR);
const nextUpdate = new Date(nowSecond + 23 * HOUR);
const revocationTime = new Date(nowSecond - 22 * HOUR);

function write(name: string, data: Uint8Array): string {
  writeFileSync(join(ca.dir, name), data);
  return name;
}

function basicOf(der: Uint8Array): ParsedBasicOcspResponse {
  const parsed = parseOcspResponse(der);
  if (parsed.status !== 'successful') throw new Error(`status ${parsed.status}`);
  return parsed.basic;
}

describe('buildOcspResponse', () => {
  it('answers an OpenSSL request with good, revoked and unknown, echoing the nonce', async () => {
    const unknownLeaf = ca.issueLeaf('1003');
    openssl(
      [
        'ocsp',
        '-issuer',
        'ca.pem',
        '-cert',
        goodLeaf,
        '-cert',
        revokedLeaf,
        '-cert',
        unknownLeaf,
        '-reqout',
        'req.der',
      ],
      ca.dir,
    );
    const request = parseOcspRequest(readFileSync(join(ca.dir, 'req.der')));
    const [good, revoked, unknown] = request.certIds as [
      (typeof request.certIds)[0],
      (typeof request.certIds)[0],
      (typeof request.certIds)[0],
    ];
    const der = await buildOcspResponse(
      {
        responder,
        producedAt,
        nonce: request.nonce!,
        responses: [
          { certId: good, certStatus: { status: 'good' }, thisUpdate, nextUpdate },
          {
            certId: revoked,
            certStatus: { status: 'revoked', revocationTime, reason: CrlReason.keyCompromise },
            thisUpdate,
            nextUpdate,
          },
          { certId: unknown, certStatus: { status: 'unknown' }, thisUpdate },
        ],
      },
      ca.signer,
    );

    const basic = basicOf(der);
    expect(basic.signatureAlgorithm).toBe('1.2.156.10197.1.501');
    expect(basic.responderKeyHash).toEqual(ca.subjectKeyIdentifier);
    expect(basic.producedAt).toEqual(new Date(nowSecond));
    expect(basic.nonce).toEqual(request.nonce);
    expect(basic.certs).toEqual([ca.certDer]);
    expect(basic.responses).toEqual([
      { certId: good, certStatus: { status: 'good' }, thisUpdate, nextUpdate },
      {
        certId: revoked,
        certStatus: { status: 'revoked', revocationTime, reason: CrlReason.keyCompromise },
        thisUpdate,
        nextUpdate,
      },
      { certId: unknown, certStatus: { status: 'unknown' }, thisUpdate },
    ]);
    expect(await verifyOcspResponse(basic, ca.spkiDer, smCryptoVerifier)).toBe(true);
    expect(await verifyOcspResponse(basic, ca.spkiDer, sm2Verifier)).toBe(true);
    const tampered = Buffer.from(der);
    const at = tampered.indexOf(basic.nonce!);
    tampered[at + 5] = tampered[at + 5]! ^ 1;
    expect(await verifyOcspResponse(basicOf(tampered), ca.spkiDer, sm2Verifier)).toBe(false);

    write('resp.der', der);
    const text = openssl(['ocsp', '-respin', 'resp.der', '-text', '-noverify'], ca.dir).toString();
    expect(text).toContain('OCSP Response Status: successful (0x0)');
    expect(text).toContain(`Responder Id: ${ca.subjectKeyIdentifier.toString('hex').toUpperCase()}`);
    expect(text).toContain('Signature Algorithm: SM2-with-SM3');
    expect(text).toContain('Revocation Reason: keyCompromise (0x1)');
    expect(text).toContain('Cert Status: unknown');
    const status = openssl(
      [
        'ocsp',
        '-reqin',
        'req.der',
        '-respin',
        'resp.der',
        '-noverify',
        '-issuer',
        'ca.pem',
        '-cert',
        goodLeaf,
        '-cert',
        revokedLeaf,
        '-cert',
        unknownLeaf,
      ],
      ca.dir,
    ).toString();
    expect(status).toContain('leaf-1001.pem: good');
    expect(status).toContain('leaf-1002.pem: revoked');
    expect(status).toContain('leaf-1003.pem: unknown');
  });

  it('signs under the GM default ID; OpenSSL 3.0 verifies OCSP responses only under the empty ID', async () => {
    const certId = buildOcspCertId(issuer, 0x1001n);
    const input = {
      responder,
      producedAt,
      responses: [{ certId, certStatus: { status: 'good' as const }, thisUpdate }],
    };
    const verify = (file: string) =>
      opensslOutput(['ocsp', '-respin', file, '-CAfile', 'ca.pem', '-issuer', 'ca.pem', '-no_nonce'], ca.dir);
    expect(verify(write('default-id.der', await buildOcspResponse(input, ca.signer)))).toContain(
      'Response Verify Failure',
    );
    expect(verify(write('empty-id.der', await buildOcspResponse(input, ca.emptyIdSigner)))).toContain(
      'Response verify OK',
    );
  });

  it('pre-signs a response that later answers a request with the same CertID', async () => {
    const certId = buildOcspCertId(issuer, Buffer.from('1002', 'hex'), 'sha1');
    const cache = new Map<string, Buffer>();
    cache.set(
      ocspCacheKey(certId),
      await buildOcspResponse(
        {
          responder,
          producedAt,
          responses: [{ certId, certStatus: { status: 'revoked', revocationTime }, thisUpdate, nextUpdate }],
        },
        ca.signer,
      ),
    );
    openssl(
      ['ocsp', '-issuer', 'ca.pem', '-cert', revokedLeaf, '-no_nonce', '-reqout', 'cached-req.der'],
      ca.dir,
    );
    const request = parseOcspRequest(readFileSync(join(ca.dir, 'cached-req.der')));
    const cached = cache.get(ocspCacheKey(request.certIds[0]!));
    expect(cached).toBeDefined();
    write('cached-resp.der', cached!);
    const status = openssl(
      [
        'ocsp',
        '-reqin',
        'cached-req.der',
        '-respin',
        'cached-resp.der',
        '-noverify',
        '-issuer',
        'ca.pem',
        '-cert',
        revokedLeaf,
      ],
      ca.dir,
    ).toString();
    expect(status).toContain('leaf-1002.pem: revoked');
  });

  it('builds every unsuccessful status without responseBytes', () => {
    const statuses: [OcspErrorStatus, string][] = [
      ['malformedRequest', 'malformedrequest (1)'],
      ['internalError', 'internalerror (2)'],
      ['tryLater', 'trylater (3)'],
      ['sigRequired', 'sigrequired (5)'],
      ['unauthorized', 'unauthorized (6)'],
    ];
    for (const [status, shown] of statuses) {
      const der = buildOcspErrorResponse(status);
      expect(parseOcspResponse(der)).toEqual({ status });
      const text = opensslOutput(
        ['ocsp', '-respin', write(`${status}.der`, der), '-text', '-noverify'],
        ca.dir,
      );
      expect(text).toContain(`Responder Error: ${shown}`);
    }
  });

  it('rejects invalid input with PkiError', async () => {
    const error = await buildOcspResponse({ responder, producedAt, responses: [] }, ca.signer).catch(
      (e: unknown) => e,
    );
    expect((error as PkiError).code).toBe('OCSP_INVALID_RESPONSE');
    const badCertId = await buildOcspResponse(
      {
        responder,
        producedAt,
        responses: [{ certId: { der: Buffer.of(5, 0) }, certStatus: { status: 'good' }, thisUpdate }],
      },
      ca.signer,
    ).catch((e: unknown) => e);
    expect((badCertId as PkiError).code).toBe('OCSP_INVALID_RESPONSE');
  });
});

describe('parseOcspResponse', () => {
  it('throws nothing but PkiError on 10,000 random and mutated inputs', async () => {
    const sample = await buildOcspResponse(
      {
        responder,
        producedAt,
        nonce: Buffer.from('0410000102030405060708090a0b0c0d0e0f', 'hex'),
        responses: [
          {
            certId: buildOcspCertId(issuer, 7n, 'sm3'),
            certStatus: { status: 'revoked', revocationTime, reason: CrlReason.certificateHold },
            thisUpdate,
            nextUpdate,
          },
        ],
      },
      ca.signer,
    );
    fuzzParser(parseOcspResponse, sample);
    expect(() => parseOcspResponse(Buffer.from('30030a0104', 'hex'))).toThrow(PkiError);
  });
});
