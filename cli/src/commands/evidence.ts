import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { serviceClient } from '../service-client.ts';

const who = 'an auditor or business admin';

interface MonthOptions {
  from?: string;
  to?: string;
}

function monthQuery(options: MonthOptions & { detail?: boolean }): string {
  const query = new URLSearchParams();
  if (options.from) query.set('from', options.from);
  if (options.to) query.set('to', options.to);
  if (options.detail) query.set('detail', 'true');
  const text = query.toString();
  return text ? `?${text}` : '';
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

interface AvailabilityAnswer {
  target: number;
  periods: {
    period: string;
    services: {
      service: string;
      probes: number;
      failedProbes: number;
      downSeconds: number;
      plannedSeconds: number;
      availability: number | null;
      meetsTarget: boolean | null;
    }[];
  }[];
}

/** One line per period and service; "-" where the monitor measured nothing. */
function availabilityTable(answer: AvailabilityAnswer): string {
  const rows = [['period', 'service', 'availability', 'down s', 'planned s', 'probes', 'failed', 'target']];
  for (const { period, services } of answer.periods) {
    for (const s of services) {
      rows.push([
        period,
        s.service,
        s.availability === null ? '-' : `${(s.availability * 100).toFixed(3)}%`,
        String(Math.round(s.downSeconds)),
        String(Math.round(s.plannedSeconds)),
        String(s.probes),
        String(s.failedProbes),
        s.meetsTarget === null ? '-' : s.meetsTarget ? 'met' : 'MISSED',
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  return [`target ${(answer.target * 100).toFixed(1)}%`, ...lines].join('\n');
}

/**
 * The compliance clocks as JSON, read through the RA and CRL services under the operator's own
 * credential: deadlines of applications, revocation timeliness, the CRL archive's cycle.
 */
export function registerEvidenceCommands(program: Command): void {
  const evidence = program
    .command('evidence')
    .description('compliance evidence: decision deadlines, revocation timeliness, CRL cycle and archive');
  const months = (command: Command) =>
    command
      .option('--from <YYYY-MM>', 'first month (China Standard Time); default: 11 months before --to')
      .option('--to <YYYY-MM>', 'last month; default: the current one');

  evidence
    .command('deadlines')
    .description('undecided applications past their 2-working-day deadline and those due soon')
    .option('--within-hours <n>', 'also list those due within this many hours', '24')
    .action(async (options: { withinHours: string }) => {
      const ra = serviceClient(cliContext().config, 'ra', who);
      const hours = encodeURIComponent(options.withinHours);
      print(await ra('GET', `/v1/evidence/deadlines?withinHours=${hours}`));
    });

  months(
    evidence.command('decisions').description('per month: applications received, decided, decided on time'),
  ).action(async (options: MonthOptions) => {
    const ra = serviceClient(cliContext().config, 'ra', who);
    print(await ra('GET', `/v1/evidence/deadlines/monthly${monthQuery(options)}`));
  });

  months(
    evidence
      .command('revocations')
      .description('per month: revocation delays p50/p99/max and breaches of the 24-hour CRL rule'),
  )
    .option('--detail', 'also list every revocation request with its times')
    .action(async (options: MonthOptions & { detail?: boolean }) => {
      const ra = serviceClient(cliContext().config, 'ra', who);
      print(await ra('GET', `/v1/evidence/revocations${monthQuery(options)}`));
    });

  evidence
    .command('availability')
    .description('availability per service per day, month or year from the monitor, against the 99.9% target')
    .option('--granularity <day|month|year>', 'period length (China Standard Time)', 'day')
    .option('--from <period>', 'first period: YYYY-MM-DD, YYYY-MM or YYYY; default: a few before --to')
    .option('--to <period>', 'last period; default: the current one')
    .option('--json', 'print the API answer as JSON instead of a table')
    .action(async (options: MonthOptions & { granularity: string; json?: boolean }) => {
      const ra = serviceClient(cliContext().config, 'ra', who);
      const query = new URLSearchParams({ granularity: options.granularity });
      if (options.from) query.set('from', options.from);
      if (options.to) query.set('to', options.to);
      const answer = await ra<AvailabilityAnswer>('GET', `/v1/evidence/availability?${query}`);
      if (options.json) print(answer);
      else console.log(availabilityTable(answer));
    });

  evidence
    .command('crls')
    .description('the CRL archive checked: cycle gaps over 24 h, digests, retention span; exit 1 if not ok')
    .action(async () => {
      const crl = serviceClient(cliContext().config, 'crl', who);
      const answer = await crl<{ ok: boolean }>('GET', '/v1/evidence/crls');
      print(answer);
      if (!answer.ok) process.exitCode = 1;
    });
}
