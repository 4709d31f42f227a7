import { userInfo } from 'node:os';
import { Device, type DeviceConfig, openDevice } from '@sm2ca/device';
import type { Actor, Database } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';

/** Where the key commands get their device, the token's SO PIN and the CA's database. */
export interface KeySources {
  /** The configured token, or the token labelled `tokenLabel` with the same module and user PIN. */
  device: (tokenLabel?: string) => Promise<DeviceConfig | Device>;
  soPin: () => Promise<string>;
  database: () => Promise<Database>;
}

/** The operating-system account that ran the command: the CLI has no operator login of its own yet. */
export const cliActor = (): Actor => ({ name: `cli:${userInfo().username}`, role: 'key_custody_cli' });

export async function withKeyDevice<T>(
  sources: KeySources,
  tokenLabel: string | undefined,
  use: (device: Device) => Promise<T>,
): Promise<T> {
  const source = await sources.device(tokenLabel);
  const device = source instanceof Device ? source : await openDevice(source);
  try {
    return await use(device);
  } finally {
    await device.close();
  }
}

export async function withKeyDatabase<T>(sources: KeySources, use: (pool: Pool) => Promise<T>): Promise<T> {
  const db = await sources.database();
  try {
    return await use(db.pool);
  } finally {
    await db.close();
  }
}
