import { openDatabase } from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { progress } from '../output.ts';
import { installedServices, Supervisor } from '../supervisor.ts';
import { initialise } from './init.ts';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the database and every service, creating the CA on first use; Ctrl-C stops them all')
    .action(async () => {
      const { config, log } = cliContext();
      progress(
        config.databaseUrl ? 'connecting to DATABASE_URL' : `starting embedded PostgreSQL in ${config.home}`,
      );
      const db = await openDatabase(config, log);
      const supervisor = new Supervisor(config, { ...process.env, DATABASE_URL: db.url });
      const stop = async () => {
        progress('stopping');
        await supervisor.stop();
        await db.close();
      };
      try {
        const created = await initialise(config, db);
        progress(created.length === 0 ? 'CA found' : `CA created: ${created.join(', ')}`);
        await supervisor.start(installedServices());
      } catch (err) {
        await stop();
        throw err;
      }
      progress('all services are up; Ctrl-C stops them');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await stop();
    });
}
