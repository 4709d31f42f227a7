import { randomBytes } from 'node:crypto';
import {
  buildOcspCertId,
  buildOcspResponse,
  CrlReason,
  type OcspResponseInput,
  ocspResponderFromCertificate,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../../../test/support/openssl-ca.ts';
import { encodeOcspResponse, encodeResponseData } from './response-encoder.ts';

describe('response encoder', () => {
  let ca: TestCa;
  beforeAll(() => {
    ca = createTestCa();
  });
  afterAll(() => ca.dispose());

  it('writes exactly the bytes of pki buildOcspResponse', async () => {
    const issuer = { subjectDer: ca.subjectDer, publicKey: publicKeyOfSpki(ca.spkiDer) };
    const responder = ocspResponderFromCertificate(ca.certDer);
    const signature = randomBytes(72);
    const signer = { sign: async () => signature };
    const at = new Date('2031-02-03T04:05:06.789Z');
    const later = new Date('2051-02-04T04:05:06.001Z');
    const certId = (serial: bigint, algorithm: 'sha1' | 'sha256' | 'sm3') =>
      buildOcspCertId(issuer, serial, algorithm);
    const cases: OcspResponseInput[] = [
      {
        responder,
        producedAt: at,
        responses: [
          { certId: certId(1n, 'sha1'), certStatus: { status: 'good' }, thisUpdate: at, nextUpdate: later },
        ],
      },
      {
        responder,
        producedAt: later,
        nonce: Buffer.concat([Buffer.of(4, 32), randomBytes(32)]),
        responses: [
          { certId: certId(0xff00ff00ff00ff00ffn, 'sm3'), certStatus: { status: 'unknown' }, thisUpdate: at },
          {
            certId: certId(2n ** 127n - 1n, 'sha256'),
            certStatus: { status: 'revoked', revocationTime: at, reason: CrlReason.certificateHold },
            thisUpdate: at,
            nextUpdate: later,
          },
          {
            certId: certId(3n, 'sha1'),
            certStatus: { status: 'revoked', revocationTime: later },
            thisUpdate: at,
            nextUpdate: later,
          },
        ],
      },
      {
        responder: { keyHash: responder.keyHash },
        producedAt: at,
        nonce: randomBytes(5),
        responses: Array.from({ length: 20 }, (_, i) => ({
          certId: certId(BigInt(i + 1) << 100n, 'sha1'),
          certStatus: { status: 'revoked' as const, revocationTime: at, reason: CrlReason.keyCompromise },
          thisUpdate: at,
          nextUpdate: later,
        })),
      },
    ];
    for (const input of cases) {
      const reference = await buildOcspResponse(input, signer);
      const responseData = encodeResponseData(input);
      expect(encodeOcspResponse(responseData, signature, input.responder).toString('hex')).toBe(
        reference.toString('hex'),
      );
    }
  });
});
