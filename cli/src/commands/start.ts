import { AppError, type ServiceName } from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { startupDevicePin } from '../device-pin.ts';
import { directoryChoice, startDirectory } from '../directory-startup.ts';
import { checkPortsFree } from '../free-ports.ts';
import { lockHome } from '../instance-lock.ts';
import { progress } from '../output.ts';
import { serviceRoleUrls, useServiceRoles } from '../service-roles.ts';
import { installedServices, Supervisor } from '../supervisor.ts';
import { openCommandDatabase } from '../with-database.ts';
import { initialise, openDatabaseAndDevice, type SuperAdminOptions, superAdminOptions } from './init.ts';

export function registerStartCommand(program: Command): void {
  superAdminOptions(program.command('start'))
    .description('start the database and every service, creating the CA on first use; Ctrl-C stops them all')
    .option('--only <services>', 'comma-separated subset to run on this host, e.g. ca,ra')
    .action(async (options: { only?: string } & SuperAdminOptions) => {
      const installed = installedServices();
      const wanted = options.only
        ? (options.only.split(',').map((s) => s.trim()) as ServiceName[])
        : installed;
      const unknown = wanted.filter((s) => !installed.includes(s));
      if (unknown.length > 0) {
        throw new AppError(
          'SERVICE_UNKNOWN',
          `no such service: ${unknown.join(', ')}; installed: ${installed.join(', ')}`,
        );
      }
      const context = cliContext();
      const { log } = context;
      const { config, env: pinEnv } = await startupDevicePin(context.config);
      const serviceRoles = useServiceRoles(config, process.env);
      const lock = await lockHome(config.home);
      // The directory publisher runs in the CRL service: a host without it needs no directory.
      const directory = wanted.includes('crl') ? directoryChoice(config) : undefined;
      await checkPortsFree(config, wanted, directory === 'local');
      const { db, device } = await openDatabaseAndDevice(config, () =>
        openCommandDatabase(config, log),
      ).catch(async (err) => {
        await lock.release();
        throw err;
      });
      const ldap = directory
        ? await startDirectory(config, directory).catch(async (err) => {
            await device.close();
            await db.close();
            await lock.release();
            throw err;
          })
        : undefined;
      const serviceEnv: Partial<Record<ServiceName, NodeJS.ProcessEnv>> = {};
      const supervisor = new Supervisor(
        config,
        { ...process.env, ...pinEnv, DATABASE_URL: db.url, ...ldap?.env },
        serviceEnv,
      );
      if (db.embedded) supervisor.watchDatabase(db.embedded);
      const stop = async () => {
        progress('stopping');
        await supervisor.stop();
        await ldap?.stop();
        await db.close();
        await lock.release();
      };
      try {
        const created = await initialise(config, db, device, options);
        progress(created.length === 0 ? 'CA found' : `CA created: ${created.join(', ')}`);
        const starting = installed.filter((s) => wanted.includes(s));
        if (serviceRoles) {
          const urls = await serviceRoleUrls(config, db, starting);
          for (const service of starting) serviceEnv[service] = { DATABASE_URL: urls[service] };
          progress(
            `services connect as their own database roles (${starting.map((s) => `sm2ca_${s}`).join(', ')})`,
          );
        }
        await supervisor.start(starting);
      } catch (err) {
        await stop();
        throw err;
      }
      progress('all services are up; Ctrl-C stops them');
      const failure = await Promise.race([
        new Promise<undefined>((resolve) => {
          process.once('SIGINT', () => resolve(undefined));
          process.once('SIGTERM', () => resolve(undefined));
        }),
        supervisor.failed,
      ]);
      await stop();
      if (failure) throw failure;
    });
}
