import { AppError } from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { serviceClient } from '../service-client.ts';

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

/**
 * Planned maintenance windows through the RA: a business admin announces one (with its reason),
 * so that down time inside it counts as planned rather than as unavailability.
 */
export function registerMaintenanceCommands(program: Command): void {
  const maintenance = program
    .command('maintenance')
    .description('planned maintenance windows: down time inside one counts as planned, not unavailability');

  maintenance
    .command('add')
    .description('announce a maintenance window (business admin)')
    .requiredOption('--reason <text>', 'why: kept with the window and in the audit trail')
    .option('--service <ra|ocsp|crl|directory>', 'the service it concerns; every service when left out')
    .option('--start <time>', 'RFC 3339 start; default: now')
    .option('--end <time>', 'RFC 3339 end')
    .option('--minutes <n>', 'length, instead of --end')
    .action(
      async (options: {
        reason: string;
        service?: string;
        start?: string;
        end?: string;
        minutes?: string;
      }) => {
        const startsAt = options.start ?? new Date().toISOString();
        const minutes = options.minutes === undefined ? undefined : Number(options.minutes);
        if ((options.end === undefined) === (minutes === undefined)) {
          throw new AppError('MAINTENANCE_END_REQUIRED', 'give either --end or --minutes');
        }
        if (minutes !== undefined && !(minutes > 0)) {
          throw new AppError('MAINTENANCE_END_REQUIRED', '--minutes must be a positive number');
        }
        const endsAt =
          options.end ?? new Date(Date.parse(startsAt) + (minutes as number) * 60_000).toISOString();
        const ra = serviceClient(cliContext().config, 'ra', 'a business admin');
        print(
          await ra('POST', '/v1/maintenance-windows', {
            ...(options.service ? { service: options.service } : {}),
            startsAt,
            endsAt,
            reason: options.reason,
          }),
        );
      },
    );

  maintenance
    .command('list')
    .description('maintenance windows, newest first')
    .option('--from <time>', 'only those ending after this RFC 3339 time')
    .option('--to <time>', 'only those starting before this RFC 3339 time')
    .action(async (options: { from?: string; to?: string }) => {
      const ra = serviceClient(cliContext().config, 'ra', 'an auditor or business admin');
      const query = new URLSearchParams();
      if (options.from) query.set('from', options.from);
      if (options.to) query.set('to', options.to);
      const text = query.toString();
      print(await ra('GET', `/v1/maintenance-windows${text ? `?${text}` : ''}`));
    });
}
