import { openDatabase } from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { progress } from '../output.ts';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the database and every service; Ctrl-C stops them all')
    .action(async () => {
      const { config, log } = cliContext();
      progress(
        config.databaseUrl ? 'connecting to DATABASE_URL' : `starting embedded PostgreSQL in ${config.home}`,
      );
      const db = await openDatabase(config, log);
      progress('database ready and migrated');
      progress('no services are installed yet; holding the database until Ctrl-C');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      progress('stopping');
      await db.close();
    });
}
