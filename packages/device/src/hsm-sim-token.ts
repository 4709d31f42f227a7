import { mkdirSync } from 'node:fs';
import graphene from 'graphene-pk11';
import { DeviceError, toDeviceError } from './device-error.ts';
import { acquireModule, releaseModule } from './module-registry.ts';
import { freeSlot, slotWithLabel } from './token-slots.ts';

export interface HsmSimTokenOptions {
  /** Token directory; hsm-sim reads it from HSMSIM_DIR when the module is initialised. */
  dir: string;
  label: string;
  soPin: string;
  pin: string;
  /** Path to libhsm-sim.so. */
  module: string;
}

/**
 * Creates the token `label` in `dir` unless it exists: C_InitToken on a free slot, then C_InitPIN as the
 * SO. Resolves to whether it created one. While any token in `dir` is unreadable it creates none: that
 * token may be the one asked for. The module must not already be initialised in this process
 * with another HSMSIM_DIR.
 */
export async function ensureHsmSimToken(options: HsmSimTokenOptions): Promise<boolean> {
  mkdirSync(options.dir, { recursive: true });
  process.env.HSMSIM_DIR = options.dir;
  let module: graphene.Module;
  try {
    module = acquireModule(options.module);
  } catch (error) {
    throw toDeviceError(error, `load ${options.module}`);
  }
  try {
    if (slotWithLabel(module, options.label)) return false;
    const slot = freeSlot(module);
    if (!slot)
      throw new DeviceError('DEVICE_TOKEN_NOT_FOUND', `no free hsm-sim slot for token "${options.label}"`);
    module.lib.C_InitToken(slot.handle, options.soPin, options.label);
    // Some modules move an initialised token to a new slot ID; look it up again by label.
    const initialised = slotWithLabel(module, options.label) ?? slot;
    const session = initialised.open(graphene.SessionFlag.RW_SESSION | graphene.SessionFlag.SERIAL_SESSION);
    try {
      session.login(options.soPin, graphene.UserType.SO);
      session.initPin(options.pin);
      session.logout();
    } finally {
      session.close();
    }
    return true;
  } catch (error) {
    throw toDeviceError(error, `initialise token "${options.label}"`);
  } finally {
    releaseModule(options.module);
  }
}
