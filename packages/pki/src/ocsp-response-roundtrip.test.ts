import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CrlReason } from './crl-reason.ts';
import { buildOcspCertId, type OcspIssuer } from './ocsp-cert-id.ts';
import { buildOcspResponse, type OcspResponseInput } from './ocsp-response.ts';
import { parseOcspResponse } from './ocsp-response-parse.ts';

/**
 * buildOcspResponse writes DER by hand; pki's parser reads ResponseData through the ASN.1
 * schema library, so every field read back here has been checked by an independent decoder.
 */
describe('buildOcspResponse read back by parseOcspResponse', () => {
  const issuer: OcspIssuer = { subjectDer: Buffer.from('3000', 'hex'), publicKey: randomBytes(65) };
  const responder = { keyHash: randomBytes(20), certificate: Buffer.from('3003020101', 'hex') };
  // Fractions of a second on purpose: the encoder must cut them, whatever the clock says.
  const second = Math.floor(Date.now() / 1000) * 1000;
  const at = new Date(second + 789);
  const later = new Date(second + 20 * 366 * 86_400_000 + 1);
  const toSecond = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);
  const certId = (serial: bigint, algorithm: 'sha1' | 'sha256' | 'sm3') =>
    buildOcspCertId(issuer, serial, algorithm);

  const cases: [string, OcspResponseInput][] = [
    [
      'one good response with the responder certificate',
      {
        responder,
        producedAt: at,
        responses: [
          { certId: certId(1n, 'sha1'), certStatus: { status: 'good' }, thisUpdate: at, nextUpdate: later },
        ],
      },
    ],
    [
      'unknown, revoked with and without a reason, and a nonce',
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
    ],
    [
      'twenty responses past 256 octets, no certificate',
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
    ],
  ];

  it.each(cases)('%s', async (_, input) => {
    const signature = randomBytes(72);
    let signed: Uint8Array | undefined;
    const der = await buildOcspResponse(input, {
      sign: async (data) => {
        signed = data;
        return signature;
      },
    });
    const parsed = parseOcspResponse(der);
    if (parsed.status !== 'successful') throw new Error(`unexpected status ${parsed.status}`);
    const { basic } = parsed;
    expect(basic.tbsResponseData).toEqual(Buffer.from(signed!));
    expect(basic.signature).toEqual(signature);
    expect(basic.certs).toEqual(input.responder.certificate ? [input.responder.certificate] : []);
    expect(basic.responderKeyHash).toEqual(input.responder.keyHash);
    expect(basic.producedAt).toEqual(toSecond(input.producedAt));
    expect(basic.nonce).toEqual(input.nonce);
    expect(
      basic.responses.map(({ certId, certStatus, thisUpdate, nextUpdate }) => ({
        der: certId.der,
        certStatus,
        thisUpdate,
        nextUpdate,
      })),
    ).toEqual(
      input.responses.map(({ certId, certStatus, thisUpdate, nextUpdate }) => ({
        der: certId.der,
        certStatus:
          certStatus.status === 'revoked'
            ? { ...certStatus, revocationTime: toSecond(certStatus.revocationTime) }
            : certStatus,
        thisUpdate: toSecond(thisUpdate),
        nextUpdate: nextUpdate && toSecond(nextUpdate),
      })),
    );
  });
});
