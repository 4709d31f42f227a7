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
 * Only the ceremony writes that file: a missing one means there is no token yet.
 */
async function embeddedPins(dir: string, config: Config, create: boolean): Promise<Pins> {
  const file = join(dir, 'pins.json');
  if (config.device.pinSource !== 'file') return operatorPins(config, file);
  if (existsSync(file)) {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Pins;
    return { pin: config.device.pin ?? stored.pin, soPin: config.device.soPin ?? stored.soPin };
  }
  if (!create) {
    throw new ConfigError('SM2CA_HOME', `no hsm-sim token under ${dir}; \`sm2ca init\` creates it`);
  }
  const pins = {
    pin: config.device.pin ?? randomBytes(12).toString('base64url'),
    soPin: config.device.soPin ?? randomBytes(12).toString('base64url'),
  };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(pins)}\n`, { mode: 0o600 });
  return pins;
}

/**
 * The SO PIN of the configured token, which only a key backup needs: SM2CA_DEVICE_SO_PIN, or the
 * embedded hsm-sim's pins file.
 */
export async function configuredSoPin(config: Config): Promise<string> {
  if (config.device.soPin) return config.device.soPin;
  if (!config.device.module && config.device.pinSource === 'file') {
    return (await embeddedPins(join(config.home, 'hsm'), config, false)).soPin;
  }
  throw new ConfigError(
    'SM2CA_DEVICE_SO_PIN',
    `the SO PIN of token "${config.device.tokenLabel}" is required (or pass --so-pin-prompt)`,
  );
}

/**
 * SM2CA_DEVICE_PIN_SOURCE=env or prompt: the operator brings the PINs and nothing is read from or
 * written beside the token. The SO PIN is needed only to create the token.
 */
function operatorPins(config: Config, file: string): Pins {
  if (!config.device.pin) {
    throw new ConfigError(
      'SM2CA_DEVICE_PIN',
      `SM2CA_DEVICE_PIN_SOURCE=${config.device.pinSource} and no user PIN given (${file} is not read)`,
    );
  }
  return { pin: config.device.pin, soPin: config.device.soPin ?? '' };
}

/** Said at start-up and by `init`: whether the token's PIN lies beside it, where anyone with the files has it. */
export function devicePinWarning(config: Config): string | undefined {
  if (config.device.module || config.device.pinSource !== 'file') return undefined;
  return `the hsm-sim token's PINs are kept in ${join(config.home, 'hsm', 'pins.json')} beside the token, so its files alone yield every key: for development only (SM2CA_DEVICE_PIN_SOURCE=env or prompt keeps the PIN elsewhere)`;
}

function deviceSetting(err: DeviceError): string {
  switch (err.code) {
    case 'DEVICE_PIN_INCORRECT':
    case 'DEVICE_PIN_LOCKED':
      return 'SM2CA_DEVICE_PIN';
    case 'DEVICE_TOKEN_NOT_FOUND':
    case 'DEVICE_TOKEN_UNREADABLE':
      return 'SM2CA_TOKEN_LABEL';
    default:
      return 'SM2CA_DEVICE_MODULE';
  }
}

/**
 * The configured crypto device, logged in. Without SM2CA_DEVICE_MODULE this is
 * the embedded default: an hsm-sim token under the data directory. Only the key
 * ceremony passes `createToken`: anything else opening a token that is not there
 * (a typo in SM2CA_TOKEN_LABEL, a fresh home) is an error, never a new empty token.
 */
export async function openConfiguredDevice(
  config: Config,
  options: { createToken?: boolean } = {},
): Promise<Device> {
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
      const pins = await embeddedPins(dir, config, options.createToken ?? false);
      pin = pins.pin;
      if (options.createToken) {
        try {
          await ensureHsmSimToken({ dir, label: config.device.tokenLabel, module, ...pins });
        } catch (err) {
          if (pins.soPin) throw err;
          throw new ConfigError(
            'SM2CA_DEVICE_SO_PIN',
            `creating token "${config.device.tokenLabel}" needs its SO PIN, which SM2CA_DEVICE_PIN_SOURCE=${config.device.pinSource} takes from SM2CA_DEVICE_SO_PIN`,
            { cause: err },
          );
        }
      } else {
        // hsm-sim reads its token directory from here when the module is first loaded.
        process.env.HSMSIM_DIR = dir;
      }
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
    if (err instanceof DeviceError) {
      const embedded = !config.device.module;
      const hint =
        embedded && err.code === 'DEVICE_TOKEN_NOT_FOUND' ? '; only `sm2ca init` creates a token' : '';
      throw new ConfigError(deviceSetting(err), `${err.message}${hint}`, { cause: err });
    }
    throw err;
  }
}
