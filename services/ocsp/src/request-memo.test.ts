import { randomBytes } from 'node:crypto';
import { buildOcspCertId, buildOcspRequest, ocspGetPath, PkiError } from '@sm2ca/pki';
import { describe, expect, it } from 'vitest';
import { RequestMemo } from './request-memo.ts';

const issuer = { subjectDer: Buffer.from('3000', 'hex'), publicKey: randomBytes(65) };
const certId = (serial: bigint) => buildOcspCertId(issuer, serial).der;
const certIds = (count: number, first = 1n) =>
  Array.from({ length: count }, (_, i) => certId(first + BigInt(i)));

describe('RequestMemo', () => {
  it('parses a request differing from a known one only in its nonce without parsing again', () => {
    const memo = new RequestMemo();
    const first = memo.parseBody(buildOcspRequest([certId(7n)], randomBytes(16)));
    const nonce = randomBytes(16);
    const second = memo.parseBody(buildOcspRequest([certId(7n)], nonce));
    expect(second.certIds).toBe(first.certIds);
    expect(second.nonce).toEqual(Buffer.concat([Buffer.of(4, 16), nonce]));
    const other = memo.parseBody(buildOcspRequest([certId(8n)], randomBytes(16)));
    expect(other.certIds[0]!.serial).toBe(8n);
    const longer = memo.parseBody(buildOcspRequest([certId(7n)], randomBytes(32)));
    expect(longer.certIds).not.toBe(first.certIds);
    expect(longer.nonce).toHaveLength(34);
  });

  it('remembers nonce-less requests whole, and keeps bodies and GET paths apart', () => {
    const memo = new RequestMemo();
    const request = buildOcspRequest([certId(9n)]);
    expect(memo.parseBody(request)).toBe(memo.parseBody(request));
    const path = ocspGetPath(request);
    expect(memo.parsePath(path)).toBe(memo.parsePath(path));
    expect(() => memo.parseBody(Buffer.from(path, 'latin1'))).toThrow(PkiError);
    expect(() => memo.parseBody(Buffer.concat([request.subarray(0, -1), Buffer.of(0xff)]))).toThrow(PkiError);
  });

  it('keeps what it remembers under its byte bound, however many large requests come', () => {
    const bound = 64 * 1024;
    const memo = new RequestMemo(bound);
    let last: Buffer | undefined;
    for (let i = 0n; i < 200n; i++) {
      last = buildOcspRequest(certIds(20, i * 20n + 1n));
      memo.parseBody(last);
      memo.parsePath(ocspGetPath(last));
      memo.parseBody(buildOcspRequest(certIds(20, i * 20n + 1n), randomBytes(16)));
      expect(memo.bytes).toBeLessThanOrEqual(bound);
    }
    // Full, and counting at least the keys: each request is held as its body and its path.
    expect(memo.bytes).toBeGreaterThan(bound / 2);
    expect(memo.bytes).toBeGreaterThan(2 * last!.length);
    expect(memo.parseBody(last!)).toBe(memo.parseBody(last!));
  });

  it('refuses more than 20 CertIDs and bodies over 16 KiB before parsing, and remembers nothing refused', () => {
    const memo = new RequestMemo();
    const tooMany = buildOcspRequest(certIds(21));
    expect(() => memo.parseBody(tooMany)).toThrow(/more than 20 CertIDs/);
    expect(() => memo.parseBody(buildOcspRequest(certIds(21), randomBytes(16)))).toThrow(PkiError);
    expect(() => memo.parsePath(ocspGetPath(tooMany))).toThrow(/more than 20 CertIDs/);
    expect(() => memo.parseBody(buildOcspRequest(certIds(400)))).toThrow(/larger than 16384 bytes/);
    expect(() => memo.parseBody(Buffer.from('not a request'))).toThrow(PkiError);
    expect(memo.bytes).toBe(0);
    expect(memo.parseBody(buildOcspRequest(certIds(20))).certIds).toHaveLength(20);
    expect(memo.bytes).toBeGreaterThan(0);
  });
});
