import type { VendorName, VendorTable } from './vendor-table.ts';

export interface DeviceConfig {
  /** Path to the vendor's PKCS#11 library (.so). */
  module: string;
  /** Which mechanism table the device speaks. */
  vendor: VendorName;
  tokenLabel: string;
  pin: string;
  /** Size of the session pool, i.e. how many operations may run in the device at once. Default 4. */
  sessions?: number;
  /** Overrides of the vendor table's quirks, for a firmware that behaves unlike the vendor's table. */
  quirks?: Partial<VendorTable['quirks']>;
}
