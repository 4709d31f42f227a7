import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Device, DeviceError, ensureHsmSimToken, openDevice } from '@sm2ca/device';
import { ConfigError } from './app-error.ts';
import type { Config } from './config.ts';

/** The hsm-sim module that `npm ci` builds. */
export const hsmSimModule = new URL('../../../hsm-sim/build/libhsm-sim.so', import.meta.url).pathname;

interface Pins {
  pin: string;
  soPin: string;
}

/**
 * The embedded default keeps its own token's PINs in a file only the owner can
 * read, beside the token; an operator who sets SM2CA_DEVICE_PIN uses theirs.
 */
async function embeddedPins(dir: string, config: Config): Promise<Pins> {
  const file = join(dir, 'pins.json');
  if (existsSync(file)) {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Pins;
    return { pin: config.device.pin ?? stored.pin, soPin: config.device.soPin ?? stored.soPin };
  }
  const pins = {
    pin: config.device.pin ?? randomBytes(12).toString('base64url'),
    soPin: config.device.soPin ?? randomBytes(12).toString('base64url'),
  };
  await writeFile(file, `${JSON.stringify(pins)}\n`, { mode: 0o600 });
  return pins;
}

function deviceSetting(err: DeviceError): string {
  switch (err.code) {
    case 'DEVICE_PIN_INCORRECT':
    case 'DEVICE_PIN_LOCKED':
      return 'SM2CA_DEVICE_PIN';
    case 'DEVICE_TOKEN_NOT_FOUND':
      return 'SM2CA_TOKEN_LABEL';
    default:
      return 'SM2CA_DEVICE_MODULE';
  }
}

/**
 * The configured crypto device, logged in. Without SM2CA_DEVICE_MODULE this is
 * the embedded default: an hsm-sim token under the data directory, created on
 * first use.
 */
export async function openConfiguredDevice(config: Config): Promise<Device> {
  let pin = config.device.pin;
  const module = config.device.module ?? hsmSimModule;
  try {
    if (!config.device.module) {
      if (!existsSync(module)) {
        throw new ConfigError(
          'SM2CA_DEVICE_MODULE',
          `${module} is missing; npm ci builds it (make -C hsm-sim)`,
        );
      }
      const dir = join(config.home, 'hsm');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const pins = await embeddedPins(dir, config);
      pin = pins.pin;
      await ensureHsmSimToken({ dir, label: config.device.tokenLabel, module, ...pins });
    }
    if (!pin)
      throw new ConfigError(
        'SM2CA_DEVICE_PIN',
        `the user PIN of token "${config.device.tokenLabel}" is required`,
      );
    return await openDevice({
      module,
      vendor: config.device.vendor,
      tokenLabel: config.device.tokenLabel,
      pin,
      sessions: config.device.sessions,
    });
  } catch (err) {
    if (err instanceof DeviceError) throw new ConfigError(deviceSetting(err), err.message, { cause: err });
    throw err;
  }
}
