import { encodeSm2Spki, fromHex, toHex } from '@sm2ca/gm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FUZZ_RUNS, malformedDer } from '../../../../test/support/fuzz.ts';
import { derTlv, TAG_SEQUENCE } from '../crl-der-writer.ts';
import { SM2_WITH_SM3_ALGORITHM } from '../crl-ocsp-algorithms.ts';
import { PkiError } from '../pki-error.ts';
import { sm2Verifier } from '../sm2-verifier.ts';
import { sampleKsRespond, testEnvelope } from '../test-support/km-messages.ts';
import { testKey } from '../test-support/test-hierarchy.ts';
import { kmErrors } from './km-errors.ts';
import { decodeKmRespond, encodeKsRespond, type KsRespond, signKmRespond } from './km-respond.ts';

const malformedBecause = (reason: string) =>
  expect.objectContaining({ code: 'KM_MESSAGE_MALFORMED', message: expect.stringContaining(reason) });

async function signedAround(tbs: Uint8Array, key = testKey()): Promise<Uint8Array> {
  const signature = await key.signer.sign(tbs);
  return new Uint8Array(derTlv(TAG_SEQUENCE, tbs, SM2_WITH_SM3_ALGORITHM, derTlv(0x04, signature)));
}

function hex(...parts: string[]): Uint8Array {
  return fromHex(parts.join('').replace(/\s/g, ''));
}

// KSRespond { version 1, kmName 'km', [ revokeKey '01', error 4 'x' ], 2026-01-02T03:04:05Z, 'task-0001' }
const SMALL_KS_RESPOND = hex(
  '3054',
  '020101', // version INTEGER 1
  '3022', // EntName
  '  300a 0608 2a811ccf55018311', //   hashAlgorithm SM3
  '  a40f 300d 310b 3009 0603 550403 0c02 6b6d', //   [4] directoryName { CN UTF8String 'km' }
  '  0400 020100', //   entPubKeyHash empty, serialNumber 0
  '300f', // respondList
  '  a203 020101', //   [2] IMPLICIT RevokeKeyRespond { userCertNo 01 }
  '  a308 020104 a003 0401 78', //   [3] IMPLICIT ErrorPkgRespond { errNo 4, [0] EXPLICIT OCTET STRING 'x' }
  '180f 3230323630313032303330343035 5a', // respondTime
  '0209 7461736b2d30303031', // taskNO 'task-0001'
);
const SMALL_RESPOND: KsRespond = {
  kmName: 'km',
  responses: [
    { kind: 'revokeKey', userCertNo: '01' },
    { kind: 'error', errNo: 4, errDesc: 'x' },
  ],
  // Fixed on purpose: its GeneralizedTime bytes are spelled out above; the codec never reads the clock.
  respondTime: new Date('2026-01-02T03:04:05Z'),
  taskNo: 'task-0001',
};

describe('GM/T 0014 KMRespond', () => {
  it('round-trips a response of every kind', async () => {
    const respond = sampleKsRespond();
    expect(decodeKmRespond(await signKmRespond(respond, testKey().signer)).respond).toEqual(respond);
  });

  it('signs the KSRespond bytes: the signature verifies over tbs with the KM key', async () => {
    const key = testKey();
    const { tbs, signature } = decodeKmRespond(await signKmRespond(sampleKsRespond(), key.signer));
    expect(await sm2Verifier.verify(encodeSm2Spki(key.publicKey), tbs, signature)).toBe(true);
    expect(await sm2Verifier.verify(encodeSm2Spki(testKey().publicKey), tbs, signature)).toBe(false);
  });

  it('encodes the tagging chosen, byte for byte, and reads hand-assembled DER', async () => {
    expect(toHex(encodeKsRespond(SMALL_RESPOND))).toBe(toHex(SMALL_KS_RESPOND));
    const decoded = decodeKmRespond(await signedAround(SMALL_KS_RESPOND));
    expect(decoded.respond).toEqual(SMALL_RESPOND);
    expect(toHex(decoded.tbs)).toBe(toHex(SMALL_KS_RESPOND));
  });

  it('tags RetKeyRespond [0] for applyKey and [1] for restoreKey, IMPLICIT, the envelope verbatim', () => {
    const envelope = testEnvelope(testKey().publicKey);
    const item = { userCertNo: '01', publicKey: envelope.spki, envelopedKey: envelope.der };
    for (const [kind, tag] of [
      ['retKey', 0xa0],
      ['restoreKey', 0xa1],
    ] as const) {
      const tbs = toHex(encodeKsRespond({ ...SMALL_RESPOND, responses: [{ kind, ...item }] }));
      expect(tbs).toContain(toHex(derTlv(tag, hex('020101'), envelope.spki, envelope.der)));
    }
  });

  it('keeps an errDesc in Chinese and an errNo from the table', async () => {
    const respond: KsRespond = {
      ...SMALL_RESPOND,
      responses: [{ kind: 'error', errNo: kmErrors.KEY_UNKNOWN.errNo, errDesc: 'KEY_UNKNOWN: 无此托管密钥' }],
    };
    expect(decodeKmRespond(await signKmRespond(respond, testKey().signer)).respond).toEqual(respond);
  });

  it('refuses other versions, extra elements, an envelope that is not an SM2EnvelopedKey, and errDesc that is not UTF-8', async () => {
    const version2 = SMALL_KS_RESPOND.slice();
    version2[4] = 2;
    await expect(signedAround(version2).then(decodeKmRespond)).rejects.toThrow(malformedBecause('version'));

    const trailing = hex('3057', toHex(SMALL_KS_RESPOND.subarray(2)), '020101');
    await expect(signedAround(trailing).then(decodeKmRespond)).rejects.toThrow(
      malformedBecause('elements the message does not define'),
    );

    const notUtf8 = SMALL_KS_RESPOND.slice();
    notUtf8[SMALL_KS_RESPOND.lastIndexOf(0x78)] = 0xff; // errDesc "x"
    await expect(signedAround(notUtf8).then(decodeKmRespond)).rejects.toThrow(
      malformedBecause('malformed KMRespond'),
    );

    const envelope = testEnvelope(testKey().publicKey);
    const good = toHex(
      encodeKsRespond({
        ...SMALL_RESPOND,
        responses: [
          { kind: 'retKey', userCertNo: '01', publicKey: envelope.spki, envelopedKey: envelope.der },
        ],
      }),
    );
    // The envelope's SM2 public key BIT STRING gets an unused-bits count.
    const envelopeHex = toHex(envelope.der);
    const spoiled = good.replace(envelopeHex, envelopeHex.replace('03420004', '03420104'));
    expect(spoiled).not.toBe(good);
    await expect(signedAround(fromHex(spoiled)).then(decodeKmRespond)).rejects.toThrow(
      malformedBecause('SM2EnvelopedKey'),
    );
  });

  it('refuses to encode an envelope or public key that is not one', async () => {
    const envelope = testEnvelope(testKey().publicKey);
    const bad: KsRespond['responses'][number][] = [
      { kind: 'retKey', userCertNo: '01', publicKey: envelope.spki, envelopedKey: envelope.spki },
      { kind: 'restoreKey', userCertNo: '01', publicKey: envelope.der, envelopedKey: envelope.der },
      { kind: 'error', errNo: -1, errDesc: 'x' },
    ];
    for (const item of bad) {
      await expect(signKmRespond({ ...SMALL_RESPOND, responses: [item] }, testKey().signer)).rejects.toThrow(
        expect.objectContaining({ code: 'KM_MESSAGE_INVALID' }),
      );
    }
  });

  it('gives only KM_MESSAGE_MALFORMED on truncated, mutated or random input', async () => {
    const valid = [
      await signKmRespond(sampleKsRespond(), testKey().signer),
      await signKmRespond(SMALL_RESPOND, testKey().signer),
    ];
    fc.assert(
      fc.property(malformedDer(valid), (input) => {
        try {
          decodeKmRespond(input);
        } catch (err) {
          expect(err).toBeInstanceOf(PkiError);
          expect((err as PkiError).code).toBe('KM_MESSAGE_MALFORMED');
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
