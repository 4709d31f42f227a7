import { generateKeyPairSync } from 'node:crypto';
import { decodeSm2EnvelopedKey, GM_OIDS } from '@sm2ca/gm';
import pkcs11 from 'pkcs11js';
import smCrypto from 'sm-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEnvelopedKey } from '../../../test/support/open-enveloped-key.ts';
import { type Device, openDevice } from './device.ts';
import { DeviceError } from './device-error.ts';
import { decodeSpki, encodeSpki } from './spki.ts';
import { hsmSim, tokenConfig } from './test-tokens.ts';

const sm2Curve = '1.2.156.10197.1.301';
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function holderKeyPair(): { privateKeyHex: string; spki: Uint8Array } {
  const keys = smCrypto.sm2.generateKeyPairHex();
  return { privateKeyHex: keys.privateKey, spki: encodeSpki(sm2Curve, Buffer.from(keys.publicKey, 'hex')) };
}

async function rejection(promise: Promise<unknown>): Promise<DeviceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeviceError);
  return error as DeviceError;
}

/** A session of this process's own, beside the device's: it sees the session objects the device's sessions make. */
function observer(tokenLabel: string): { lib: pkcs11.PKCS11; session: Buffer } {
  const lib = new pkcs11.PKCS11();
  lib.load(hsmSim.module);
  try {
    lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
  } catch {
    // Initialised already by the device under test; login state is per process, so this session is logged in.
  }
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === tokenLabel);
  if (!slot) throw new Error(`no slot for ${tokenLabel}`);
  return { lib, session: lib.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION) };
}

describe.skipIf(!hsmSim.available)('key escrow on hsm-sim', () => {
  let device: Device;
  let view: { lib: pkcs11.PKCS11; session: Buffer };

  function find(template: pkcs11.Template): Buffer[] {
    view.lib.C_FindObjectsInit(view.session, template);
    try {
      const found: Buffer[] = [];
      for (let batch = view.lib.C_FindObjects(view.session, 50); batch.length > 0; ) {
        found.push(...batch);
        batch = view.lib.C_FindObjects(view.session, 50);
      }
      return found;
    } finally {
      view.lib.C_FindObjectsFinal(view.session);
    }
  }
  const objectCount = () => find([]).length;

  beforeAll(async () => {
    await hsmSim.createTokens(['escrow'], '87654321', '12345678');
    device = await openDevice({ ...tokenConfig(hsmSim, 'escrow', '12345678'), sessions: 3 });
    await device.createMasterKey('km-master');
    await device.createMasterKey('other-master');
    view = observer('escrow');
  });
  afterAll(async () => {
    view?.lib.C_CloseSession(view.session);
    await device?.close();
  });

  it('reports what a secret key under a label may do, so a planted master key can be told apart', async () => {
    expect(await device.inspectSecretKey('km-master')).toEqual({
      secretKeys: 1,
      otherObjects: 0,
      secretKey: {
        expectedType: true,
        sensitive: true,
        alwaysSensitive: true,
        extractable: false,
        neverExtractable: true,
        local: true,
        encrypt: false,
        decrypt: false,
        wrap: true,
        unwrap: true,
      },
    });
    await device.generateSecretKey({ label: 'planted', token: false, extractable: true });
    const planted = await device.inspectSecretKey('planted');
    expect(planted.secretKey).toMatchObject({ extractable: true, neverExtractable: false, encrypt: true });
    await device.generateKeyPair({ label: 'not-secret', token: false });
    expect(await device.inspectSecretKey('not-secret')).toEqual({ secretKeys: 0, otherObjects: 2 });
    expect(await device.inspectSecretKey('nothing-here')).toEqual({ secretKeys: 0, otherObjects: 0 });
  });

  it('makes a master key that only wraps, never leaves the device and is never made twice', async () => {
    expect(await device.hasKey('km-master')).toBe(true);
    expect(await device.hasKey('no-such-key')).toBe(false);
    expect((await rejection(device.createMasterKey('km-master'))).code).toBe('DEVICE_KEY_EXISTS');
    await device.generateKeyPair({ label: 'a-key-pair', token: false });
    expect((await rejection(device.createMasterKey('a-key-pair'))).code).toBe('DEVICE_KEY_EXISTS');
    const race = await Promise.allSettled([device.createMasterKey('raced'), device.createMasterKey('raced')]);
    expect(race.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(find([{ type: pkcs11.CKA_LABEL, value: 'raced' }])).toHaveLength(1);
    const [master, ...more] = find([
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
      { type: pkcs11.CKA_LABEL, value: 'km-master' },
    ]);
    expect(master).toBeDefined();
    expect(more).toEqual([]);
    const flags = [
      pkcs11.CKA_TOKEN,
      pkcs11.CKA_SENSITIVE,
      pkcs11.CKA_EXTRACTABLE,
      pkcs11.CKA_NEVER_EXTRACTABLE,
      pkcs11.CKA_ENCRYPT,
      pkcs11.CKA_DECRYPT,
      pkcs11.CKA_WRAP,
      pkcs11.CKA_UNWRAP,
    ];
    const values = view.lib.C_GetAttributeValue(
      view.session,
      master!,
      flags.map((type) => ({ type })),
    );
    expect(values.map((a) => (a.value as Buffer)[0])).toEqual([1, 1, 0, 1, 0, 0, 1, 1]);
    expect(() => view.lib.C_GetAttributeValue(view.session, master!, [{ type: pkcs11.CKA_VALUE }])).toThrow(
      /CKR_ATTRIBUTE_SENSITIVE/,
    );
    const block = Buffer.alloc(16, 1);
    for (const use of [device.secretEncrypt('km-master', block), device.secretDecrypt('km-master', block)]) {
      expect((await rejection(use)).ckr).toBe('CKR_KEY_FUNCTION_NOT_PERMITTED');
    }
    const holder = holderKeyPair();
    expect((await rejection(device.wrapSecretKey(holder.spki, 'km-master'))).code).toBe(
      'DEVICE_KEY_UNEXTRACTABLE',
    );
  });

  it('envelopes a wrapped key pair to a holder, who opens it with sm-crypto', async () => {
    const holder = holderKeyPair();
    const { publicKey, wrappedPrivateKey } = await device.generateWrappedKeyPair('km-master');
    const point = decodeSpki(publicKey, sm2Curve);
    // The public point, then the raw 32-byte scalar under SM4-ECB.
    expect(wrappedPrivateKey.length).toBe(65 + 32);
    expect(hex(wrappedPrivateKey.subarray(0, 65))).toBe(hex(point));
    const envelope = await device.envelopeWrappedKey('km-master', wrappedPrivateKey, holder.spki, publicKey);
    const decoded = decodeSm2EnvelopedKey(envelope);
    expect(decoded.symmetricAlgorithm).toBe(GM_OIDS.sm4Ecb);
    expect(hex(decoded.publicKey)).toBe(hex(point));
    expect(decoded.encryptedPrivateKey.length).toBe(32);
    const opened = openEnvelopedKey(envelope, holder.privateKeyHex);
    expect(opened.publicKeyHex).toBe(hex(point));

    // The escrowed key is an encryption key: what is encrypted to its public key, the opened scalar decrypts.
    const message = Array.from(Buffer.from('recovered by the holder'));
    const ciphertext = smCrypto.sm2.doEncrypt(message, opened.publicKeyHex, 1);
    expect(smCrypto.sm2.doDecrypt(ciphertext, opened.privateKeyHex, 1, { output: 'array' })).toEqual(message);

    // Recovery: the same escrowed key to someone else, without the expected-key check; the holder cannot open it.
    const officer = holderKeyPair();
    const again = await device.envelopeWrappedKey('km-master', wrappedPrivateKey, officer.spki);
    expect(openEnvelopedKey(again, officer.privateKeyHex)).toEqual(opened);
    expect(() => openEnvelopedKey(again, holder.privateKeyHex)).toThrow(/does not decrypt/);
  });

  it('refuses a blob wrapped under another master key, a foreign recipient and a broken blob', async () => {
    const holder = holderKeyPair();
    const { publicKey, wrappedPrivateKey } = await device.generateWrappedKeyPair('km-master');
    // Under SM4-ECB any 32 bytes unwrap to some key: only the blob's public point gives the wrong master away.
    for (const expected of [publicKey, undefined]) {
      const mismatch = await rejection(
        device.envelopeWrappedKey('other-master', wrappedPrivateKey, holder.spki, expected),
      );
      expect(mismatch.code).toBe('DEVICE_KEY_MISMATCH');
      expect(mismatch.message).toMatch(/another master key/);
    }
    const other = await device.generateWrappedKeyPair('km-master');
    const notItsPair = await rejection(
      device.envelopeWrappedKey('km-master', other.wrappedPrivateKey, holder.spki, publicKey),
    );
    expect(notItsPair.code).toBe('DEVICE_KEY_MISMATCH');
    expect(notItsPair.message).toMatch(/another key pair/);
    const spliced = Buffer.concat([wrappedPrivateKey.subarray(0, 65), other.wrappedPrivateKey.subarray(65)]);
    expect((await rejection(device.envelopeWrappedKey('km-master', spliced, holder.spki))).code).toBe(
      'DEVICE_KEY_MISMATCH',
    );

    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    const foreign = await rejection(device.envelopeWrappedKey('km-master', wrappedPrivateKey, p256));
    expect(foreign.code).toBe('DEVICE_BAD_INPUT');
    expect(foreign.message).toMatch(/^recipient public key: .*not on curve 1\.2\.156\.10197\.1\.301/);
    const notSpki = await rejection(
      device.envelopeWrappedKey('km-master', wrappedPrivateKey, Buffer.from('not DER')),
    );
    expect(notSpki.code).toBe('DEVICE_BAD_INPUT');

    for (const broken of [wrappedPrivateKey.subarray(0, 65), wrappedPrivateKey.subarray(0, 65 + 16)]) {
      expect((await rejection(device.envelopeWrappedKey('km-master', broken, holder.spki))).code).toBe(
        'DEVICE_BAD_INPUT',
      );
    }
    expect((await rejection(device.generateWrappedKeyPair('no-such-master'))).code).toBe(
      'DEVICE_KEY_NOT_FOUND',
    );
  });

  it('leaves no session objects behind, whether an operation succeeds or fails', async () => {
    const holder = holderKeyPair();
    const before = objectCount();
    for (let i = 0; i < 3; i++) {
      const { publicKey, wrappedPrivateKey } = await device.generateWrappedKeyPair('km-master');
      await device.envelopeWrappedKey('km-master', wrappedPrivateKey, holder.spki, publicKey);
      await rejection(device.envelopeWrappedKey('other-master', wrappedPrivateKey, holder.spki));
      await rejection(
        device.envelopeWrappedKey('km-master', wrappedPrivateKey.subarray(0, 65 + 16), holder.spki),
      );
    }
    expect(objectCount()).toBe(before);
    expect(
      find([
        { type: pkcs11.CKA_TOKEN, value: false },
        { type: pkcs11.CKA_LABEL, value: 'km-transient' },
      ]),
    ).toEqual([]);
  });

  it('makes distinct keys for 20 concurrent callers on 3 sessions, and envelopes them all at once', async () => {
    const holder = holderKeyPair();
    const before = objectCount();
    const pairs = await Promise.all(
      Array.from({ length: 20 }, () => device.generateWrappedKeyPair('km-master')),
    );
    expect(new Set(pairs.map((p) => hex(p.publicKey))).size).toBe(20);
    expect(new Set(pairs.map((p) => hex(p.wrappedPrivateKey))).size).toBe(20);
    const envelopes = await Promise.all(
      pairs.map((p) => device.envelopeWrappedKey('km-master', p.wrappedPrivateKey, holder.spki, p.publicKey)),
    );
    envelopes.forEach((envelope, i) => {
      expect(openEnvelopedKey(envelope, holder.privateKeyHex).publicKeyHex).toBe(
        hex(decodeSpki(pairs[i]!.publicKey, sm2Curve)),
      );
    });
    expect(objectCount()).toBe(before);
  });
});
