import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Device, openDevice } from './device.ts';
import { DeviceError } from './device-error.ts';
import { hsmSim, tokenConfig } from './test-tokens.ts';

const soPin = '87654321';
const pin = '12345678';

async function rejection(promise: Promise<unknown>): Promise<DeviceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeviceError);
  return error as DeviceError;
}

describe.skipIf(!hsmSim.available)('split-custody key backup on hsm-sim', () => {
  let origin: Device;
  let restored: Device;
  let dir: string;

  beforeAll(async () => {
    const env = await hsmSim.createTokens(['origin', 'restored'], soPin, pin);
    dir = env.HSMSIM_DIR!;
    origin = await openDevice(tokenConfig(hsmSim, 'origin', pin));
    restored = await openDevice(tokenConfig(hsmSim, 'restored', pin));
  });

  afterAll(async () => {
    await origin?.close();
    await restored?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('backs a backup-only key up under an SO-made key and restores it non-extractable on another token', async () => {
    const spki = await origin.generateKeyPair({ label: 'ca', backup: true });
    expect((await origin.inspectKeyPair('ca')).privateKey).toMatchObject({
      extractable: true,
      wrapWithTrusted: true,
      sensitive: true,
    });
    // The user PIN alone cannot take it out under a key of its own.
    await origin.generateSecretKey({ label: 'mine', token: false });
    expect((await rejection(origin.wrapPrivateKey('mine', 'ca'))).message).toMatch(/CKR_KEY_NOT_WRAPPABLE/);

    const backup = await origin.backupPrivateKey('ca', soPin);
    expect(backup.secretKey).toHaveLength(16);
    expect(backup.wrappedPrivateKey).toHaveLength(65 + 32);
    // The device is the user's again afterwards.
    const message = new TextEncoder().encode('after the backup');
    expect(await origin.verify(spki, message, await origin.sign('ca', message))).toBe(true);

    const wrong = new Uint8Array(backup.secretKey);
    wrong[0] = (wrong[0] ?? 0) ^ 1;
    expect((await rejection(restored.restorePrivateKey(wrong, backup.wrappedPrivateKey, 'ca'))).code).toBe(
      'DEVICE_KEY_MISMATCH',
    );
    expect(await restored.hasKey('ca')).toBe(false);

    expect(await restored.restorePrivateKey(backup.secretKey, backup.wrappedPrivateKey, 'ca')).toEqual(spki);
    expect(await restored.publicKey('ca')).toEqual(spki);
    expect((await restored.inspectKeyPair('ca')).privateKey).toMatchObject({
      extractable: false,
      sensitive: true,
      sign: true,
      decrypt: false,
    });
    const signed = new TextEncoder().encode('signed on the restored token');
    expect(await origin.verify(spki, signed, await restored.sign('ca', signed))).toBe(true);
    expect(
      (await rejection(restored.restorePrivateKey(backup.secretKey, backup.wrappedPrivateKey, 'ca'))).code,
    ).toBe('DEVICE_KEY_EXISTS');
  });

  it('refuses a wrong SO PIN and keeps the user logged in', async () => {
    await origin.generateKeyPair({ label: 'ca-2', backup: true });
    expect((await rejection(origin.backupPrivateKey('ca-2', 'not-the-so-pin'))).code).toBe(
      'DEVICE_PIN_INCORRECT',
    );
    const message = new TextEncoder().encode('still signing');
    expect(await origin.sign('ca-2', message)).toBeInstanceOf(Uint8Array);
  });
});
