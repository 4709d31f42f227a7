import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { configuredSoPin, devicePinWarning, hsmSimModule, openConfiguredDevice } from './crypto-device.ts';

const homes: string[] = [];
const home = () => {
  const dir = mkdtempSync(join(tmpdir(), 'device-pin-source-'));
  homes.push(dir);
  return dir;
};

afterAll(() => {
  for (const dir of homes) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(hsmSimModule))('SM2CA_DEVICE_PIN_SOURCE', () => {
  it('file (the default) keeps the PINs beside the token and says it is for development only', async () => {
    const config = loadConfig({ SM2CA_HOME: home() });
    expect(config.device.pinSource).toBe('file');
    expect(devicePinWarning(config)).toMatch(/pins\.json beside the token.*for development only/);
    const device = await openConfiguredDevice(config, { createToken: true });
    await device.close();
    expect(existsSync(join(config.home, 'hsm', 'pins.json'))).toBe(true);
    expect(await configuredSoPin(config)).toMatch(/.{4,}/);
  });

  it('env takes the PINs from the environment and writes none of them down', async () => {
    const env = { SM2CA_HOME: home(), SM2CA_DEVICE_PIN_SOURCE: 'env', SM2CA_TOKEN_LABEL: 'env-pin' };
    await expect(openConfiguredDevice(loadConfig(env), { createToken: true })).rejects.toMatchObject({
      details: { setting: 'SM2CA_DEVICE_PIN' },
    });
    await expect(
      openConfiguredDevice(loadConfig({ ...env, SM2CA_DEVICE_PIN: 'user-pin-1' }), { createToken: true }),
    ).rejects.toMatchObject({ details: { setting: 'SM2CA_DEVICE_SO_PIN' } });
    const config = loadConfig({ ...env, SM2CA_DEVICE_PIN: 'user-pin-1', SM2CA_DEVICE_SO_PIN: 'so-pin-12' });
    expect(devicePinWarning(config)).toBeUndefined();
    const device = await openConfiguredDevice(config, { createToken: true });
    await device.close();
    expect(existsSync(join(config.home, 'hsm', 'pins.json'))).toBe(false);
    await expect(
      configuredSoPin(loadConfig({ ...env, SM2CA_DEVICE_PIN: 'user-pin-1' })),
    ).rejects.toMatchObject({
      details: { setting: 'SM2CA_DEVICE_SO_PIN' },
    });
    // Later starts need only the user PIN.
    const again = await openConfiguredDevice(loadConfig({ ...env, SM2CA_DEVICE_PIN: 'user-pin-1' }));
    await again.close();
    await expect(
      openConfiguredDevice(loadConfig({ ...env, SM2CA_DEVICE_PIN: 'not-the-pin' })),
    ).rejects.toMatchObject({ details: { setting: 'SM2CA_DEVICE_PIN' } });
  });

  it('refuses a source it does not know', () => {
    expect(() => loadConfig({ SM2CA_HOME: home(), SM2CA_DEVICE_PIN_SOURCE: 'sticky-note' })).toThrow(
      /SM2CA_DEVICE_PIN_SOURCE/,
    );
  });
});
