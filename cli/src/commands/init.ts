import { runKeyCeremony } from '@sm2ca/ca';
import { ensureKmMasterKey, kmMasterKeyLabel } from '@sm2ca/km';
import { type Config, type Database, devicePinWarning, openConfiguredDevice } from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { progress } from '../output.ts';
import { withDatabase } from '../with-database.ts';

/** The key ceremony against an open database; `start` runs it too on first use. */
export async function initialise(config: Config, db: Database): Promise<string[]> {
  progress('opening the crypto device');
  const device = await openConfiguredDevice(config, { createToken: true });
  try {
    const { created } = await runKeyCeremony(db.pool, device, config, progress);
    const master = await ensureKmMasterKey(db.pool, device, { name: 'cli', role: 'key_ceremony' });
    if (master.created)
      progress(`KM master key "${kmMasterKeyLabel}" created in the device (SM4, never extractable)`);
    return master.created ? [...created, kmMasterKeyLabel] : created;
  } finally {
    await device.close();
  }
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      'create the CA: migrate, create the device token, generate the root, issuing CA, RA and KM keys and certificates and the KM master key',
    )
    .action(async () => {
      const { config, log } = cliContext();
      const warning = devicePinWarning(config);
      if (warning) progress(`warning: ${warning}`);
      await withDatabase(config, log, async (db) => {
        const created = await initialise(config, db);
        console.log(
          created.length === 0
            ? 'the CA already exists; nothing changed'
            : `created: ${created.join(', ')} (keys inside the device, certificates in the database)`,
        );
      });
    });
}
