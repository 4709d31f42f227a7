import { runKeyCeremony } from '@sm2ca/ca';
import type { Device } from '@sm2ca/device';
import { ensureKmMasterKey, kmMasterKeyLabel } from '@sm2ca/km';
import {
  AppError,
  type Config,
  createFirstSuperAdmin,
  type Database,
  devicePinWarning,
  openConfiguredDevice,
} from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { progress } from '../output.ts';
import { openCommandDatabase } from '../with-database.ts';

/** Who the key ceremony makes the first super admin: `--super-admin NAME --super-admin-identity ID`. */
export interface SuperAdminOptions {
  superAdmin?: string;
  superAdminIdentity?: string;
}

/**
 * The first super admin, while the CA has none: the only operator made with shell access
 * alone. Its credential goes to stdout this once; every later operator is added through the
 * RA's admin API under an administrator's credential.
 */
async function firstSuperAdmin(db: Database, options: SuperAdminOptions): Promise<void> {
  const { superAdmin: name, superAdminIdentity: identity } = options;
  if (!name && !identity) return;
  if (!name || !identity) {
    throw new AppError('SUPER_ADMIN_INCOMPLETE', '--super-admin and --super-admin-identity go together');
  }
  const made = await createFirstSuperAdmin(db.pool, { name, identity });
  if (!made) {
    progress('the CA has a super admin already; operators are added with `sm2ca operator add`');
    return;
  }
  progress(`super admin ${made.operator.name} created`);
  console.log(`super admin credential (shown once): ${made.credential}`);
}

export const superAdminOptions = (command: Command) =>
  command
    .option('--super-admin <name>', 'on first use: the name of the first super admin (超级管理员)')
    .option('--super-admin-identity <id>', 'on first use: their identity, e.g. staff ID number');

/** The device the key ceremony uses, its token created on first use. */
function openCeremonyDevice(config: Config): Promise<Device> {
  progress('opening the crypto device');
  return openConfiguredDevice(config, { createToken: true });
}

/**
 * Opens the database and the ceremony's device together: PostgreSQL starts in processes of
 * its own while the token is created or logged into, so neither waits for the other. When
 * one fails the other is closed again.
 */
export async function openDatabaseAndDevice(
  config: Config,
  openDatabase: () => Promise<Database>,
): Promise<{ db: Database; device: Device }> {
  const [db, device] = await Promise.allSettled([openDatabase(), openCeremonyDevice(config)]);
  if (db.status === 'fulfilled' && device.status === 'fulfilled')
    return { db: db.value, device: device.value };
  if (db.status === 'fulfilled') await db.value.close();
  if (device.status === 'fulfilled') await device.value.close();
  throw db.status === 'rejected' ? db.reason : (device as PromiseRejectedResult).reason;
}

/** The key ceremony against an open database and device; `start` runs it too on first use. */
export async function initialise(
  config: Config,
  db: Database,
  device: Device,
  options: SuperAdminOptions = {},
): Promise<string[]> {
  try {
    const { created } = await runKeyCeremony(db.pool, device, config, progress);
    const master = await ensureKmMasterKey(db.pool, device, { name: 'cli', role: 'key_ceremony' });
    if (master.created)
      progress(`KM master key "${kmMasterKeyLabel}" created in the device (SM4, never extractable)`);
    await firstSuperAdmin(db, options);
    return master.created ? [...created, kmMasterKeyLabel] : created;
  } finally {
    await device.close();
  }
}

export function registerInitCommand(program: Command): void {
  superAdminOptions(program.command('init'))
    .description(
      'create the CA: migrate, create the device token, generate the root, issuing CA, RA and KM keys and certificates and the KM master key',
    )
    .action(async (options: SuperAdminOptions) => {
      const { config, log } = cliContext();
      const warning = devicePinWarning(config);
      if (warning) progress(`warning: ${warning}`);
      const { db, device } = await openDatabaseAndDevice(config, () => openCommandDatabase(config, log));
      try {
        const created = await initialise(config, db, device, options);
        console.log(
          created.length === 0
            ? 'the CA already exists; nothing changed'
            : `created: ${created.join(', ')} (keys inside the device, certificates in the database)`,
        );
      } finally {
        await db.close();
      }
    });
}
