import { runKeyCeremony } from '@sm2ca/ca';
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
import { withDatabase } from '../with-database.ts';

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

/** The key ceremony against an open database; `start` runs it too on first use. */
export async function initialise(
  config: Config,
  db: Database,
  options: SuperAdminOptions = {},
): Promise<string[]> {
  progress('opening the crypto device');
  const device = await openConfiguredDevice(config, { createToken: true });
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
      await withDatabase(config, log, async (db) => {
        const created = await initialise(config, db, options);
        console.log(
          created.length === 0
            ? 'the CA already exists; nothing changed'
            : `created: ${created.join(', ')} (keys inside the device, certificates in the database)`,
        );
      });
    });
}
