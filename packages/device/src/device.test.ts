import { execFile } from 'node:child_process';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ECParameters } from '@peculiar/asn1-ecc';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import pkcs11 from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Device, openDevice } from './device.ts';
import type { DeviceConfig } from './device-config.ts';
import { DeviceError } from './device-error.ts';
import { hsmSim, softhsm, type TestBackend, tokenConfig } from './test-tokens.ts';
import { vendorTable } from './vendor-table.ts';

const soPin = '87654321';
const pin = '12345678';
const fixture = fileURLToPath(new URL('./concurrent-sign.fixture.ts', import.meta.url));

/** A second handle on the same library, to pull sessions or the whole library out from under a device. */
function saboteur(module: string, tokenLabel: string): { lib: pkcs11.PKCS11; slot: Buffer } {
  const lib = new pkcs11.PKCS11();
  lib.load(module);
  try {
    lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
  } catch {
    // Already initialised by the device under test, which is the point.
  }
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === tokenLabel);
  if (!slot) throw new Error(`no slot for ${tokenLabel}`);
  return { lib, slot };
}

async function expectDeviceError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeviceError);
  expect((error as DeviceError).code).toBe(code);
}

function backendSuite(backend: TestBackend): void {
  describe.skipIf(!backend.available)(`device on ${backend.vendor}`, () => {
    const vendor = vendorTable(backend.vendor);
    let config: DeviceConfig;
    let env: Record<string, string>;
    let device: Device;

    beforeAll(async () => {
      env = await backend.createTokens(['main', 'wrong-pin'], soPin, pin);
      config = { ...tokenConfig(backend, 'main', pin), sessions: 3 };
      device = await openDevice(config);
    });
    afterAll(async () => {
      await device?.close();
    });

    it('generates a key pair and returns its public key as SubjectPublicKeyInfo', async () => {
      const spki = await device.generateKeyPair({ label: 'gen', id: Buffer.from([1, 2]) });
      const parsed = AsnConvert.parse(spki, SubjectPublicKeyInfo);
      expect(parsed.algorithm.algorithm).toBe('1.2.840.10045.2.1');
      expect(AsnConvert.parse(parsed.algorithm.parameters!, ECParameters).namedCurve).toBe(vendor.curveOid);
      expect(parsed.subjectPublicKey.byteLength).toBe(65);
      expect(Buffer.from(await device.publicKey('gen')).equals(Buffer.from(spki))).toBe(true);
      await expectDeviceError(device.generateKeyPair({ label: 'gen' }), 'DEVICE_BAD_INPUT');
    });

    it('signs on both paths and verifies inside the device', async () => {
      const spki = await device.generateKeyPair({ label: 'signing', token: false });
      const message = Buffer.from('to be signed');
      const asyncSig = await device.sign('signing', message);
      const syncSig = device.signSync('signing', message);
      expect(await device.verify(spki, message, asyncSig)).toBe(true);
      expect(await device.verify(spki, message, syncSig)).toBe(true);
      expect(await device.verify(spki, Buffer.from('something else'), asyncSig)).toBe(false);
      const tampered = Buffer.from(asyncSig);
      tampered[tampered.length - 1]! ^= 1;
      expect(await device.verify(spki, message, tampered)).toBe(false);
      expect(await device.verify(spki, message, Buffer.from('not DER'))).toBe(false);
      const viaSigner = await device.signer('signing').sign(message);
      expect(await device.verify(spki, message, viaSigner)).toBe(true);
      const inParts = await device.signer('signing').signParts([message.subarray(0, 5), message.subarray(5)]);
      expect(await device.verify(spki, message, inParts)).toBe(true);
      expect(await device.verify(spki, Buffer.from('to be'), inParts)).toBe(false);
      if (vendor.algorithm === 'ecdsa-p256') {
        const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
        expect(nodeVerify('sha256', message, key, asyncSig)).toBe(true);
      }
    });

    it('reports missing keys, tokens and wrong PINs as DeviceErrors', async () => {
      await expectDeviceError(device.sign('no-such-key', Buffer.from('x')), 'DEVICE_KEY_NOT_FOUND');
      await expectDeviceError(
        openDevice({ ...config, tokenLabel: 'no-such-token' }),
        'DEVICE_TOKEN_NOT_FOUND',
      );
      const other = await openDevice(config);
      await other.close();
      await other.close();
      await expectDeviceError(other.sign('signing', Buffer.from('x')), 'DEVICE_ERROR');
      const error = await openDevice({ ...config, tokenLabel: 'wrong-pin', pin: '00000000' }).catch((e) => e);
      expect(error).toBeInstanceOf(DeviceError);
      expect(error.code).toBe('DEVICE_PIN_INCORRECT');
      expect(error.message).toContain('CKR_PIN_INCORRECT');
      expect(error.message).not.toContain('00000000');
    });

    it('wraps an extractable private key under a secret key and unwraps it', async () => {
      const spki = await device.generateKeyPair({ label: 'escrowed', token: false, extractable: true });
      await device.generateSecretKey({ label: 'kek', token: false });
      const wrapped = await device.wrapPrivateKey('kek', 'escrowed');
      expect(wrapped.length).toBeGreaterThanOrEqual(32);
      await device.unwrapPrivateKey('kek', wrapped, { label: 'restored', token: false });
      const message = Buffer.from('signed by the restored key');
      expect(await device.verify(spki, message, await device.sign('restored', message))).toBe(true);
    });

    it('encrypts and decrypts whole blocks under a secret key, ECB and CBC', async () => {
      await device.generateSecretKey({ label: 'data-key', token: false });
      const data = Buffer.alloc(48, 0x42);
      const iv = Buffer.alloc(16, 7);
      const ecb = await device.secretEncrypt('data-key', data);
      const cbc = await device.secretEncrypt('data-key', data, iv);
      expect(Buffer.from(ecb).subarray(0, 16).equals(Buffer.from(ecb).subarray(16, 32))).toBe(true);
      expect(Buffer.from(cbc).subarray(0, 16).equals(Buffer.from(cbc).subarray(16, 32))).toBe(false);
      expect(Buffer.from(await device.secretDecrypt('data-key', ecb)).equals(data)).toBe(true);
      expect(Buffer.from(await device.secretDecrypt('data-key', cbc, iv)).equals(data)).toBe(true);
    });

    it('neither wraps nor reveals a non-extractable key', async () => {
      await device.generateKeyPair({ label: 'locked', token: false });
      await device.generateSecretKey({ label: 'kek2', token: false });
      await expectDeviceError(device.wrapPrivateKey('kek2', 'locked'), 'DEVICE_KEY_UNEXTRACTABLE');
      const { lib, slot } = saboteur(backend.module, 'main');
      const session = lib.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION);
      try {
        lib.C_FindObjectsInit(session, [
          { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
          { type: pkcs11.CKA_LABEL, value: 'locked' },
        ]);
        const [handle] = lib.C_FindObjects(session, 1);
        lib.C_FindObjectsFinal(session);
        expect(handle).toBeDefined();
        expect(() => lib.C_GetAttributeValue(session, handle!, [{ type: pkcs11.CKA_VALUE }])).toThrow(
          /CKR_ATTRIBUTE_SENSITIVE/,
        );
      } finally {
        lib.C_CloseSession(session);
      }
    });

    it('makes a sign-only key pair unless asked for an encryption key, and reads its attributes back', async () => {
      const spki = await device.generateKeyPair({ label: 'sign-only', token: false });
      expect(await device.inspectKeyPair('sign-only')).toEqual({
        privateKeys: 1,
        publicKeys: 1,
        privateKey: {
          private: true,
          sensitive: true,
          alwaysSensitive: true,
          extractable: false,
          neverExtractable: true,
          local: true,
          sign: true,
          decrypt: false,
          unwrap: false,
          wrapWithTrusted: false,
        },
      });
      await device.generateKeyPair({ label: 'enc', token: false, extractable: true, decrypt: true });
      expect((await device.inspectKeyPair('enc')).privateKey).toMatchObject({
        extractable: true,
        neverExtractable: false,
        decrypt: vendor.mechanisms.encrypt !== null,
        unwrap: vendor.mechanisms.wrapSecret !== null,
      });
      expect(await device.inspectKeyPair('nothing-here')).toEqual({ privateKeys: 0, publicKeys: 0 });
      if (vendor.mechanisms.encrypt !== null) {
        const ciphertext = await device.encrypt(spki, Buffer.from('for a key that only signs'));
        const error = await device.decrypt('sign-only', ciphertext).catch((e: unknown) => e);
        expect((error as DeviceError).ckr).toBe('CKR_KEY_FUNCTION_NOT_PERMITTED');
      }
    });

    it('shares a small session pool among many concurrent operations', async () => {
      const spki = await device.generateKeyPair({ label: 'busy', token: false });
      const messages = Array.from({ length: 24 }, (_, i) => Buffer.from(`message ${i}`));
      const signatures = await Promise.all(messages.map((m) => device.sign('busy', m)));
      const results = await Promise.all(messages.map((m, i) => device.verify(spki, m, signatures[i]!)));
      expect(results.every(Boolean)).toBe(true);
      const digests = await Promise.all(messages.map((m) => device.digest(m)));
      expect(new Set(digests.map((d) => Buffer.from(d).toString('hex'))).size).toBe(messages.length);
    });

    it('looks a key up again when another device replaced it', async () => {
      await device.generateKeyPair({ label: 'rotated' });
      await device.sign('rotated', Buffer.from('caches the handle'));
      const other = await openDevice(config);
      try {
        expect(await other.deleteKey('rotated')).toBe(2);
        const spki = await other.generateKeyPair({ label: 'rotated' });
        const message = Buffer.from('signed with the new key');
        expect(await device.verify(spki, message, await device.sign('rotated', message))).toBe(true);
      } finally {
        await other.close();
      }
    });

    it('reconnects and retries when its sessions are closed under it', async () => {
      const spki = await device.generateKeyPair({ label: 'survivor' });
      const { lib, slot } = saboteur(backend.module, 'main');
      lib.C_CloseAllSessions(slot);
      const message = Buffer.from('after the sessions were closed');
      expect(await device.verify(spki, message, await device.sign('survivor', message))).toBe(true);
      lib.C_CloseAllSessions(slot);
      expect(await device.verify(spki, message, device.signSync('survivor', message))).toBe(true);
    });

    it('re-initialises when the library is finalised under it', async () => {
      const spki = await device.publicKey('survivor');
      const { lib } = saboteur(backend.module, 'main');
      lib.C_Finalize();
      const message = Buffer.from('after C_Finalize');
      expect(await device.verify(spki, message, await device.sign('survivor', message))).toBe(true);
    });

    it('signs from two processes on the same token at once', async () => {
      await device.generateKeyPair({ label: 'shared' });
      const run = () =>
        promisify(execFile)(process.execPath, ['--import', 'tsx', fixture], {
          env: {
            ...process.env,
            ...env,
            DEVICE_TEST_CONFIG: JSON.stringify(config),
            DEVICE_TEST_LABEL: 'shared',
            DEVICE_TEST_ROUNDS: '30',
          },
        });
      const outputs = await Promise.all([run(), run()]);
      for (const { stdout } of outputs) expect(JSON.parse(stdout)).toEqual({ verified: 30 });
    });
  });
}

backendSuite(softhsm);
backendSuite(hsmSim);
