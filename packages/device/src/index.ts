export {
  Device,
  type DeviceInfo,
  type DeviceObserver,
  openDevice,
  type PublicKeyRef,
  type SignOptions,
} from './device.ts';
export type { DeviceConfig } from './device-config.ts';
export { DeviceError, type DeviceErrorCode } from './device-error.ts';
export { defaultSignerId } from './host-digest.ts';
export { ensureHsmSimToken, type HsmSimTokenOptions } from './hsm-sim-token.ts';
export type { PrivateKeyBackup } from './key-backup.ts';
export type { WrappedKeyPair } from './key-escrow.ts';
export type {
  KeyPairInspection,
  PrivateKeyAttributes,
  SecretKeyAttributes,
  SecretKeyInspection,
} from './key-inspection.ts';
export type { KeyOptions } from './key-templates.ts';
export { type VendorName, type VendorTable, vendorTable } from './vendor-table.ts';
