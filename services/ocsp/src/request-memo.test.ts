import { randomBytes } from 'node:crypto';
import { buildOcspCertId, buildOcspRequest, ocspGetPath, PkiError } from '@sm2ca/pki';
import { describe, expect, it } from 'vitest';
import { RequestMemo } from './request-memo.ts';

const issuer = { subjectDer: Buffer.from('3000', 'hex'), publicKey: randomBytes(65) };
const certId = (serial: bigint) => buildOcspCertId(issuer, serial).der;

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
});
