import { openDatabase } from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { progress } from '../output.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (the embedded database when DATABASE_URL is unset)')
    .action(async () => {
      const { config, log } = cliContext();
      progress(
        config.databaseUrl ? 'connecting to DATABASE_URL' : `starting embedded PostgreSQL in ${config.home}`,
      );
      const db = await openDatabase(config, log, { migrate: false });
      try {
        const { migrate, migrationsDir } = await import('@sm2ca/store');
        const result = await migrate(db.pool, migrationsDir);
        for (const name of result.applied) progress(`applied ${name}`);
        console.log(
          result.applied.length === 0
            ? `database is up to date (${result.alreadyApplied} migrations)`
            : `applied ${result.applied.length} migration(s)`,
        );
      } finally {
        await db.close();
      }
    });
}
