import { type Config, devicePinWarning } from '@sm2ca/platform';
import { progress } from './output.ts';
import { promptSecret } from './secret-prompt.ts';

/**
 * The device PIN for `sm2ca start`, by SM2CA_DEVICE_PIN_SOURCE: the file beside the token (with a
 * warning: development only), the environment, or a prompt. A prompted PIN reaches the services it
 * starts through their environment only, never a file or a log.
 */
export async function startupDevicePin(
  config: Config,
): Promise<{ config: Config; env: Record<string, string> }> {
  const warning = devicePinWarning(config);
  if (warning) progress(`warning: ${warning}`);
  if (config.device.pinSource !== 'prompt' || config.device.pin) return { config, env: {} };
  const pin = await promptSecret(`user PIN of token "${config.device.tokenLabel}"`);
  return { config: { ...config, device: { ...config.device, pin } }, env: { SM2CA_DEVICE_PIN: pin } };
}
