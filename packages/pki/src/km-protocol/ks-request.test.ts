import { encodeSm2Spki, fromHex, toHex } from '@sm2ca/gm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FUZZ_RUNS, malformedDer } from '../../../../test/support/fuzz.ts';
import { derTlv, TAG_SEQUENCE } from '../crl-der-writer.ts';
import { SM2_WITH_SM3_ALGORITHM } from '../crl-ocsp-algorithms.ts';
import { OIDS } from '../oids.ts';
import { PkiError } from '../pki-error.ts';
import { sm2Verifier } from '../sm2-verifier.ts';
import { sampleKsRequest } from '../test-support/km-messages.ts';
import { testKey } from '../test-support/test-hierarchy.ts';
import {
  decodeCaRequest,
  encodeKsRequest,
  KM_DEFAULT_ALGORITHMS,
  type KsRequest,
  kmAlgorithmsSupported,
  signCaRequest,
} from './ks-request.ts';

const malformedBecause = (reason: string) =>
  expect.objectContaining({ code: 'KM_MESSAGE_MALFORMED', message: expect.stringContaining(reason) });
const invalidError = expect.objectContaining({ code: 'KM_MESSAGE_INVALID' });

/** A CARequest around `tbs` as given, signed by `key`. */
async function signedAround(tbs: Uint8Array, key = testKey()): Promise<Uint8Array> {
  const signature = await key.signer.sign(tbs);
  return new Uint8Array(derTlv(TAG_SEQUENCE, tbs, SM2_WITH_SM3_ALGORITHM, derTlv(0x04, signature)));
}

function hex(...parts: string[]): Uint8Array {
  return fromHex(parts.join('').replace(/\s/g, ''));
}

function tlv(tag: number, ...parts: (string | Uint8Array)[]): Uint8Array {
  return new Uint8Array(derTlv(tag, ...parts.map((p) => (typeof p === 'string' ? hex(p) : p))));
}

// KSRequest { version 1, caName 'sub', [ revokeKey '01' ], 2026-01-02T03:04:05Z, taskNO 'task-0001' }
const SMALL_KS_REQUEST = hex(
  '304b',
  '020101', // version INTEGER 1
  '3023', // EntName
  '  300a 0608 2a811ccf55018311', //   hashAlgorithm SM3
  '  a410 300e 310c 300a 0603 550403 0c03 737562', //   [4] directoryName { CN UTF8String 'sub' }
  '  0400', //   entPubKeyHash: empty
  '  020100', //   serialNumber 0
  '3005 a203 020101', // requestList { [2] IMPLICIT RevokeKeyReq { userCertNo 01 } }
  '180f 3230323630313032303330343035 5a', // requestTime GeneralizedTime 20260102030405Z
  '0209 7461736b2d30303031', // taskNO INTEGER with the ASCII of 'task-0001'
);
const SMALL_REQUEST: KsRequest = {
  caName: 'sub',
  requests: [{ kind: 'revokeKey', userCertNo: '01' }],
  // Fixed on purpose: its GeneralizedTime bytes are spelled out above; the codec never reads the clock.
  requestTime: new Date('2026-01-02T03:04:05Z'),
  taskNo: 'task-0001',
};

describe('GM/T 0014 CARequest', () => {
  it('round-trips a request of every kind, with the default algorithms filled in', async () => {
    const request = sampleKsRequest();
    const decoded = decodeCaRequest(await signCaRequest(request, testKey().signer));
    expect(decoded.request).toEqual({
      ...request,
      requests: request.requests.map((item) =>
        item.kind === 'applyKey'
          ? { ...item, algorithms: KM_DEFAULT_ALGORITHMS }
          : item.kind === 'restoreKey'
            ? {
                ...item,
                algorithms: {
                  retAsymAlg: OIDS.sm2Encrypt,
                  retSymAlg: OIDS.sm4,
                  retHashAlg: OIDS.sm3,
                },
              }
            : item,
      ),
    });
  });

  it('signs the KSRequest bytes: the signature verifies over tbs with the signer key, not another', async () => {
    const key = testKey();
    const der = await signCaRequest(sampleKsRequest(), key.signer);
    const { tbs, signature } = decodeCaRequest(der);
    const spki = encodeSm2Spki(key.publicKey);
    expect(await sm2Verifier.verify(spki, tbs, signature)).toBe(true);
    expect(await sm2Verifier.verify(encodeSm2Spki(testKey().publicKey), tbs, signature)).toBe(false);
    const altered = tbs.slice();
    altered[altered.length - 1]! ^= 1;
    expect(await sm2Verifier.verify(spki, altered, signature)).toBe(false);
  });

  it('encodes the tagging chosen, byte for byte', async () => {
    expect(toHex(encodeKsRequest(SMALL_REQUEST))).toBe(toHex(SMALL_KS_REQUEST));
    const der = await signCaRequest(SMALL_REQUEST, testKey().signer);
    // CARequest ::= SEQUENCE { KSRequest, AlgorithmIdentifier SM2-with-SM3, OCTET STRING signature }
    expect(toHex(der.subarray(0, 2))).toBe('3081');
    expect(der[2]).toBe(der.length - 3);
    expect(toHex(der.subarray(3, 3 + SMALL_KS_REQUEST.length))).toBe(toHex(SMALL_KS_REQUEST));
    const rest = der.subarray(3 + SMALL_KS_REQUEST.length);
    expect(toHex(rest.subarray(0, 12))).toBe('300a06082a811ccf55018375');
    expect(rest[12]).toBe(0x04);
    expect(rest[13]).toBe(rest.length - 14);
  });

  it('hand-assembled DER decodes to the request it spells', async () => {
    expect(decodeCaRequest(await signedAround(SMALL_KS_REQUEST)).request).toEqual(SMALL_REQUEST);
  });

  it('returns tbs as the bytes received, and refuses BER that a re-encoding would not reproduce', async () => {
    const der = await signedAround(SMALL_KS_REQUEST);
    const { tbs } = decodeCaRequest(der);
    expect(tbs.buffer).not.toBe(der.buffer);
    expect(toHex(tbs)).toBe(toHex(der.subarray(3, 3 + SMALL_KS_REQUEST.length)));
    // version INTEGER with a long-form length: valid BER, not DER.
    const berTbs = hex('304c', '02810101', toHex(SMALL_KS_REQUEST.subarray(5)));
    await expect(signedAround(berTbs).then(decodeCaRequest)).rejects.toThrow(malformedBecause('not DER'));
  });

  it('accepts and ignores the optional AppUserInfo fields another CA may send', async () => {
    const spki = encodeSm2Spki(testKey().publicKey);
    const time = toHex(SMALL_KS_REQUEST.subarray(49, 66));
    const appUserInfo = tlv(
      TAG_SEQUENCE,
      '020101',
      spki,
      time,
      time,
      tlv(0xa0, tlv(0x04, '616263')), // userName OCTET STRING
      tlv(0xa1, tlv(0x16, '313130')), // dsCode IA5String
      tlv(0xa2, tlv(0x0c, '6869')), // extendInfo UTF8String
    );
    const applyKeyReq = tlv(
      0xa0,
      '300a06082a811ccf5501822d 020201 00 300b06092a811ccf5501822d03 300906072a811ccf550168 300a06082a811ccf55018311',
      appUserInfo,
    );
    const tbs = tlv(
      TAG_SEQUENCE,
      SMALL_KS_REQUEST.subarray(2, 42),
      tlv(TAG_SEQUENCE, applyKeyReq),
      SMALL_KS_REQUEST.subarray(49),
    );
    const [item] = decodeCaRequest(await signedAround(tbs)).request.requests;
    expect(item).toEqual({
      kind: 'applyKey',
      userCertNo: '01',
      userPublicKey: spki,
      notBefore: SMALL_REQUEST.requestTime,
      notAfter: SMALL_REQUEST.requestTime,
      algorithms: KM_DEFAULT_ALGORITHMS,
    });
  });

  it('refuses elements a SEQUENCE does not define and CHOICE tags it does not have', async () => {
    const h = toHex(SMALL_KS_REQUEST);
    const twoSerials = h.replace('3005a203020101', '3008a206020101020102').replace(/^304b/, '304e');
    const trailing = `${h.replace(/^304b/, '304e')}020101`;
    await expect(signedAround(hex(twoSerials)).then(decodeCaRequest)).rejects.toThrow(
      malformedBecause('elements the message does not define'),
    );
    await expect(signedAround(hex(trailing)).then(decodeCaRequest)).rejects.toThrow(
      malformedBecause('elements the message does not define'),
    );
    const spki = encodeSm2Spki(testKey().publicKey);
    const spkiPlusNull = tlv(TAG_SEQUENCE, spki.subarray(2), '0500');
    const restore = (key: Uint8Array) =>
      tlv(
        TAG_SEQUENCE,
        SMALL_KS_REQUEST.subarray(2, 42),
        tlv(
          TAG_SEQUENCE,
          tlv(0xa1, '300b06092a811ccf5501822d03 300906072a811ccf550168 300a06082a811ccf55018311 020101', key),
        ),
        SMALL_KS_REQUEST.subarray(49),
      );
    expect(decodeCaRequest(await signedAround(restore(spki))).request.requests[0]).toMatchObject({
      userPublicKey: spki,
    });
    await expect(signedAround(restore(spkiPlusNull)).then(decodeCaRequest)).rejects.toThrow(
      malformedBecause('elements the message does not define'),
    );
    const tag3 = h.replace('3005a203020101', '3005a303020101');
    await expect(signedAround(hex(tag3)).then(decodeCaRequest)).rejects.toThrow(malformedBecause('Choice'));
  });

  it('carries other algorithm OIDs through, for the KM to refuse', async () => {
    const algorithms = {
      appKeyType: '1.2.840.10045.2.1',
      appKeyLength: 384,
      retAsymAlg: '1.2.840.113549.1.1.1',
      retSymAlg: '2.16.840.1.101.3.4.1.2',
      retHashAlg: '2.16.840.1.101.3.4.2.1',
    };
    const restoreAlgorithms = { retAsymAlg: OIDS.sm2, retSymAlg: OIDS.sm4Ecb, retHashAlg: OIDS.sm3 };
    const request = sampleKsRequest();
    const [apply, restore] = request.requests;
    if (apply?.kind !== 'applyKey' || restore?.kind !== 'restoreKey') throw new Error('sample changed');
    request.requests = [
      { ...apply, algorithms },
      { ...restore, algorithms: restoreAlgorithms },
    ];
    const decoded = decodeCaRequest(await signCaRequest(request, testKey().signer)).request.requests;
    expect(decoded[0]).toMatchObject({ algorithms });
    expect(decoded[1]).toMatchObject({ algorithms: restoreAlgorithms });
    expect(kmAlgorithmsSupported(algorithms)).toBe(false);
    expect(kmAlgorithmsSupported({ ...KM_DEFAULT_ALGORITHMS, appKeyLength: 512 })).toBe(false);
    expect(kmAlgorithmsSupported(KM_DEFAULT_ALGORITHMS)).toBe(true);
    expect(kmAlgorithmsSupported(restoreAlgorithms)).toBe(true);
  });

  it('refuses versions other than 1, other signature algorithms, and empty request lists', async () => {
    const version2 = SMALL_KS_REQUEST.slice();
    version2[4] = 2;
    await expect(signedAround(version2).then(decodeCaRequest)).rejects.toThrow(malformedBecause('version'));

    const der = await signCaRequest(SMALL_REQUEST, testKey().signer);
    const otherAlgorithm = der.slice();
    otherAlgorithm[3 + SMALL_KS_REQUEST.length + 11] = 0x76; // 1.2.156.10197.1.501 → .502
    expect(() => decodeCaRequest(otherAlgorithm)).toThrow(malformedBecause('not SM2-with-SM3'));

    const empty = hex(
      '3046',
      toHex(SMALL_KS_REQUEST.subarray(2, 42)),
      '3000',
      toHex(SMALL_KS_REQUEST.subarray(49)),
    );
    await expect(signedAround(empty).then(decodeCaRequest)).rejects.toThrow(
      malformedBecause('empty requestList'),
    );
  });

  it('refuses times that are not YYYYMMDDHHMMSSZ and task numbers that are not request ids', async () => {
    const text = (s: string) => toHex(new TextEncoder().encode(s));
    const head = toHex(SMALL_KS_REQUEST.subarray(2, 49));
    const task = toHex(SMALL_KS_REQUEST.subarray(66));
    for (const time of ['202601020304Z', '20260102030405', '20260230030405Z', '20260102030405.5Z']) {
      const timeTlv = `18${time.length.toString(16).padStart(2, '0')}${text(time)}`;
      const body = `${head}${timeTlv}${task}`;
      const tbs = hex(`30${(body.length / 2).toString(16)}`, body);
      await expect(signedAround(tbs).then(decodeCaRequest)).rejects.toThrow(malformedBecause('invalid time'));
    }
    for (const taskTlv of ['020101', `0205${text('short')}`]) {
      const body = `${toHex(SMALL_KS_REQUEST.subarray(2, 66))}${taskTlv}`;
      const tbs = hex(`30${(body.length / 2).toString(16)}`, body);
      await expect(signedAround(tbs).then(decodeCaRequest)).rejects.toThrow(malformedBecause('taskNO'));
    }
  });

  it('refuses to encode what the protocol cannot carry', async () => {
    const signer = testKey().signer;
    const bad: KsRequest[] = [
      { ...SMALL_REQUEST, taskNo: 'short' },
      { ...SMALL_REQUEST, taskNo: 'has space in it' },
      { ...SMALL_REQUEST, caName: '' },
      { ...SMALL_REQUEST, requests: [] },
      { ...SMALL_REQUEST, requests: [{ kind: 'revokeKey', userCertNo: 'ff' }] },
      { ...SMALL_REQUEST, requests: [{ kind: 'revokeKey', userCertNo: '0001' }] },
      { ...SMALL_REQUEST, requests: [{ kind: 'revokeKey', userCertNo: 'ABCD' }] },
      {
        ...SMALL_REQUEST,
        requests: [{ kind: 'restoreKey', userCertNo: '01', userPublicKey: fromHex('3000') }],
      },
      { ...SMALL_REQUEST, requestTime: new Date(Number.NaN) },
      { ...SMALL_REQUEST, requestTime: new Date('+010000-01-01T00:00:00Z') },
    ];
    for (const request of bad) await expect(signCaRequest(request, signer)).rejects.toThrow(invalidError);
  });

  it('gives only KM_MESSAGE_MALFORMED on truncated, mutated or random input', async () => {
    const valid = [
      await signCaRequest(sampleKsRequest(), testKey().signer),
      await signCaRequest(SMALL_REQUEST, testKey().signer),
    ];
    fc.assert(
      fc.property(malformedDer(valid), (input) => {
        try {
          decodeCaRequest(input);
        } catch (err) {
          expect(err).toBeInstanceOf(PkiError);
          expect((err as PkiError).code).toBe('KM_MESSAGE_MALFORMED');
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
