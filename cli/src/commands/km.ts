import { ensureKmMasterKey, kmMasterKeyLabel, kmStatus } from '@sm2ca/km';
import { openConfiguredDevice } from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { withDatabase } from '../with-database.ts';

const ceremonyActor = { name: 'cli', role: 'key_ceremony' };

/** `sm2ca km …`: the key-management centre's master key and the state of its key pool and escrows. */
export function registerKmCommands(program: Command): void {
  const km = program
    .command('km')
    .description('the key-management centre (KM): master key, key pool, escrows');

  km.command('master-key')
    .description(
      `create the KM master key "${kmMasterKeyLabel}" in the device (SM4, wrap/unwrap only, never extractable); once`,
    )
    .action(async () => {
      const { config, log } = cliContext();
      await withDatabase(config, log, async (db) => {
        const device = await openConfiguredDevice(config);
        try {
          const { created } = await ensureKmMasterKey(db.pool, device, ceremonyActor);
          console.log(
            created
              ? `created the KM master key "${kmMasterKeyLabel}" in the device (SM4, wrap/unwrap only, never extractable)`
              : `the KM master key "${kmMasterKeyLabel}" already exists; nothing changed`,
          );
        } finally {
          await device.close();
        }
      });
    });

  km.command('status')
    .description('the key pool against its settings, the escrowed keys by state, and the master key')
    .action(async () => {
      const { config, log } = cliContext();
      await withDatabase(config, log, async (db) => {
        const device = await openConfiguredDevice(config);
        try {
          const status = await kmStatus(db.pool);
          const master = (await device.hasKey(kmMasterKeyLabel))
            ? 'present'
            : 'missing (sm2ca km master-key)';
          const { poolSize, poolLowWater } = config.km;
          console.log(
            [
              `pool:       ${status.pooled} keys (refilled below ${poolLowWater} up to ${poolSize})`,
              `escrows:    ${Object.entries(status.escrows)
                .map(([state, n]) => `${state} ${n}`)
                .join(', ')}`,
              `master key: "${kmMasterKeyLabel}" ${master}`,
            ].join('\n'),
          );
        } finally {
          await device.close();
        }
      });
    });
}
