import { encodeSm2EnvelopedKey, encodeSm2Spki, fromHex } from '@sm2ca/gm';
import smCrypto from 'sm-crypto';
import type { KsRespond } from '../km-protocol/km-respond.ts';
import type { KsRequest } from '../km-protocol/ks-request.ts';
import { testKey } from './test-hierarchy.ts';

const DAY_MS = 86_400_000;

/** An SM2EnvelopedKey of a fresh key pair to `holderPublicKey` (04‖X‖Y), as the KM makes one. */
export function testEnvelope(holderPublicKey: Uint8Array): { der: Uint8Array; spki: Uint8Array } {
  const enveloped = smCrypto.sm2.generateKeyPairHex();
  const sm4Key = '0123456789abcdeffedcba9876543210';
  const scalar = Array.from(fromHex(enveloped.privateKey.padStart(64, '0')));
  const holderHex = Buffer.from(holderPublicKey).toString('hex');
  const der = encodeSm2EnvelopedKey({
    encryptedSymmetricKey: fromHex(`04${smCrypto.sm2.doEncrypt(fromHex(sm4Key), holderHex, 1)}`),
    publicKey: fromHex(enveloped.publicKey),
    encryptedPrivateKey: new Uint8Array(
      smCrypto.sm4.encrypt(scalar, sm4Key, { padding: 'none', output: 'array' }),
    ),
  });
  return { der, spki: encodeSm2Spki(fromHex(enveloped.publicKey)) };
}

/** One request of every kind, times whole seconds relative to now. */
export function sampleKsRequest(): KsRequest {
  const holder = encodeSm2Spki(testKey().publicKey);
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  return {
    caName: 'sub',
    requestTime: now,
    taskNo: '3f0c9a1e-6d2b-4c11-9a7e-2b8d5f6e7a10',
    requests: [
      {
        kind: 'applyKey',
        userCertNo: '00e1d2c3b4a5968778695a4b3c2d1e0f',
        userPublicKey: holder,
        notBefore: now,
        notAfter: new Date(now.getTime() + 365 * DAY_MS),
      },
      { kind: 'restoreKey', userCertNo: '7a6b5c4d3e2f', userPublicKey: holder },
      { kind: 'revokeKey', userCertNo: '01' },
    ],
  };
}

/** One response of every kind. */
export function sampleKsRespond(): KsRespond {
  const holder = testKey().publicKey;
  const first = testEnvelope(holder);
  const second = testEnvelope(holder);
  return {
    kmName: 'km',
    respondTime: new Date(Math.floor(Date.now() / 1000) * 1000),
    taskNo: '3f0c9a1e-6d2b-4c11-9a7e-2b8d5f6e7a10',
    responses: [
      {
        kind: 'retKey',
        userCertNo: '00e1d2c3b4a5968778695a4b3c2d1e0f',
        publicKey: first.spki,
        envelopedKey: first.der,
      },
      { kind: 'restoreKey', userCertNo: '7a6b5c4d3e2f', publicKey: second.spki, envelopedKey: second.der },
      { kind: 'revokeKey', userCertNo: '01' },
      { kind: 'error', errNo: 4, errDesc: 'REPLAYED: taskNO 已用于另一请求' },
    ],
  };
}
