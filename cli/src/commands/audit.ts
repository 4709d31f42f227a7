import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Device, type DeviceConfig, openDevice } from '@sm2ca/device';
import { pemOrDerToDer } from '@sm2ca/pki';
import {
  AppError,
  type AuditProblem,
  type Checkpoint,
  type Config,
  type Database,
  distinctCheckpoints,
  exportAudit,
  makeCheckpoint,
  readCheckpointFile,
  readExport,
  type VerifyReport,
  verifyAuditChain,
  verifyAuditDatabase,
} from '@sm2ca/platform';
import type { Command } from 'commander';
import { serviceClient } from '../service-client.ts';

/** Where the commands get the configuration, the CA's database and the device (for checkpoints). */
export interface AuditSources {
  config: () => Config;
  database: () => Promise<Database>;
  device: () => Promise<DeviceConfig | Device>;
}

async function withDatabase<T>(sources: AuditSources, use: (db: Database) => Promise<T>): Promise<T> {
  const db = await sources.database();
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}

function parseTime(value: string, option: string): Date {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) {
    throw new AppError(
      'TIME_INVALID',
      `${option} "${value}" is not a time (ISO 8601, e.g. 2026-01-31T00:00:00Z)`,
    );
  }
  return time;
}

async function checkpointFiles(files: string[]): Promise<Checkpoint[]> {
  return (await Promise.all(files.map((f) => readCheckpointFile(f)))).flat();
}

const collect = (value: string, previous: string[]) => [...previous, value];

function outcome(report: VerifyReport, extra: AuditProblem[]): void {
  const problems = [...report.problems, ...extra];
  const span = report.firstSeq === undefined ? 'no records' : `seq ${report.firstSeq}–${report.lastSeq}`;
  console.log(
    `${report.records} records (${span}), head ${report.head}; ${report.checkpointsVerified} signed checkpoints matched`,
  );
  for (const p of problems) {
    console.log(`BROKEN${p.seq === undefined ? '' : ` at seq ${p.seq}`}: ${p.message}`);
  }
  if (problems.length > 0) {
    throw new AppError('AUDIT_CHAIN_BROKEN', `audit trail does not verify: ${problems[0]!.message}`);
  }
  console.log('audit trail verified');
}

/**
 * `sm2ca audit …`: sign a checkpoint now, verify the chain (in the database or in an export), and
 * export a time range as JSON lines for an offline check.
 */
export function registerAuditCommands(program: Command, sources: AuditSources): void {
  const audit = program
    .command('audit')
    .description('the tamper-evident audit trail (SM3 chain, signed checkpoints)');

  audit
    .command('checkpoint')
    .description('seal pending audit records and sign a checkpoint of the chain head with the audit key')
    .action(() =>
      withDatabase(sources, async (db) => {
        const source = await sources.device();
        const device = source instanceof Device ? source : await openDevice(source);
        try {
          const config = sources.config();
          const checkpoint = await makeCheckpoint(db.pool, (label) => device.signer(label), {
            home: config.home,
            sink: config.audit.checkpointSink,
            madeBy: `cli:${userInfo().username}`,
          });
          if (checkpoint)
            console.log(`checkpoint: seq ${checkpoint.seq}, head ${checkpoint.head}, at ${checkpoint.at}`);
        } finally {
          await device.close();
        }
      }),
    );

  audit
    .command('verify')
    .description(
      'recompute the chain and check the signed checkpoints; names the first broken record and exits 1 when it does not verify',
    )
    .option('--file <export>', 'check an export (sm2ca audit export) instead of the database')
    .option('--checkpoints <file>', 'more checkpoints (a checkpoints.jsonl copy); repeatable', collect, [])
    .option(
      '--root <certificate>',
      'the root CA certificate to trust (PEM or DER) instead of the one the source carries',
    )
    .action(async (options: { file?: string; checkpoints: string[]; root?: string }) => {
      const pinned = options.root ? [pemOrDerToDer(readFileSync(options.root), 'CERTIFICATE')] : undefined;
      const extra = await checkpointFiles(options.checkpoints);
      if (options.file) {
        const contents = await readExport(options.file);
        const report = await verifyAuditChain({
          ...contents,
          trustAnchors: pinned ?? contents.trustAnchors,
          checkpoints: distinctCheckpoints([...contents.checkpoints, ...extra]),
          links: contents.links(),
          fromGenesis: false,
        });
        outcome(report, []);
        return;
      }
      await withDatabase(sources, async (db) => {
        const { report, strays, pending } = await verifyAuditDatabase(db.pool, {
          home: sources.config().home,
          checkpoints: extra,
          trustAnchors: pinned,
        });
        if (pending > 0) process.stderr.write(`${pending} audit records are not sealed yet\n`);
        outcome(report, strays);
      });
    });

  audit
    .command('export')
    .description(
      'write the chain part covering a time range as JSON lines: certificates, checkpoints, records',
    )
    .requiredOption('--from <time>', 'first record time (ISO 8601)')
    .requiredOption('--to <time>', 'last record time (ISO 8601)')
    .action((options: { from: string; to: string }) => {
      const range = { from: parseTime(options.from, '--from'), to: parseTime(options.to, '--to') };
      if (range.from > range.to) throw new AppError('TIME_INVALID', '--from is after --to');
      return withDatabase(sources, async (db) => {
        const { records, checkpoints } = await exportAudit(db.pool, range, async (line) => {
          if (!process.stdout.write(`${line}\n`)) {
            await new Promise((resolve) => process.stdout.once('drain', resolve));
          }
        });
        process.stderr.write(`exported ${records} records and ${checkpoints} checkpoints\n`);
      });
    });
  audit
    .command('query')
    .description(
      "audit records through the RA's API, as the auditor whose credential SM2CA_OPERATOR_CREDENTIAL holds",
    )
    .option('--from <time>', 'records at or after (ISO 8601)')
    .option('--to <time>', 'records at or before (ISO 8601)')
    .option('--actor <name>', 'operator or component name')
    .option('--action <action>', 'an action, or a family with a trailing dot (certificate.)')
    .option('--subject-type <type>', 'e.g. application, certificate, operator')
    .option('--subject-id <id>', 'the subject id')
    .option('--limit <n>', 'records at most (all pages are read up to it)', '1000')
    .action(async (options: Record<string, string | undefined>) => {
      const ra = serviceClient(sources.config(), 'ra', 'an auditor');
      const query = new URLSearchParams();
      for (const [option, param] of [
        ['from', 'from'],
        ['to', 'to'],
        ['actor', 'actor'],
        ['action', 'action'],
        ['subjectType', 'subjectType'],
        ['subjectId', 'subjectId'],
      ] as const) {
        if (options[option]) query.set(param, options[option]);
      }
      const wanted = Number(options.limit);
      if (!Number.isInteger(wanted) || wanted < 1)
        throw new AppError('LIMIT_INVALID', '--limit: a positive integer');
      let printed = 0;
      let afterId: string | null = '0';
      while (afterId !== null && printed < wanted) {
        query.set('afterId', afterId);
        query.set('limit', String(Math.min(500, wanted - printed)));
        const page: { items: unknown[]; nextAfterId: string | null } = await ra(
          'GET',
          `/v1/audit/records?${query}`,
        );
        for (const item of page.items) console.log(JSON.stringify(item));
        printed += page.items.length;
        afterId = page.nextAfterId;
      }
    });

  audit
    .command('settings')
    .description(
      "the audit settings through the RA's API: shown to the auditor and the audit admin, changed by the audit admin (SM2CA_OPERATOR_CREDENTIAL)",
    )
    .option('--retention-years <n>', `years records and archives are kept (at least 10)`)
    .option('--checkpoint-minutes <n>', 'how often the chain head is signed')
    .option('--archive-after-days <n>', 'days after a month ends before it may be archived')
    .action(async (options: Record<string, string | undefined>) => {
      const ra = serviceClient(sources.config(), 'ra', 'the audit admin or an auditor');
      type Settings = Record<'retentionYears' | 'checkpointMinutes' | 'archiveAfterDays', number>;
      const current: Settings = await ra('GET', '/v1/audit/settings');
      const changes = Object.entries(options).filter(([, v]) => v !== undefined);
      if (changes.length === 0) {
        console.log(JSON.stringify(current, null, 2));
        return;
      }
      const next: Settings = {
        retentionYears: current.retentionYears,
        checkpointMinutes: current.checkpointMinutes,
        archiveAfterDays: current.archiveAfterDays,
      };
      for (const [option, value] of changes) {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0)
          throw new AppError(
            'SETTING_INVALID',
            `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: an integer`,
          );
        next[option as keyof Settings] = n;
      }
      console.log(JSON.stringify(await ra('PUT', '/v1/audit/settings', next), null, 2));
    });

  audit
    .command('archive')
    .description(
      'archive a closed month (China Standard Time) on the RA: its export to $SM2CA_HOME/audit/archive/<month>.jsonl with its SM3 digest, as the audit admin',
    )
    .requiredOption('--month <YYYY-MM>', 'the month')
    .action(async (options: { month: string }) => {
      const ra = serviceClient(sources.config(), 'ra', 'the audit admin');
      console.log(JSON.stringify(await ra('POST', '/v1/audit/archives', { month: options.month }), null, 2));
    });

  audit
    .command('archives')
    .description(
      'the archives of closed months (month, file, SM3 digest, records, seq range), one JSON line each',
    )
    .action(async () => {
      const ra = serviceClient(sources.config(), 'ra', 'an auditor or the audit admin');
      const { items }: { items: unknown[] } = await ra('GET', '/v1/audit/archives');
      for (const item of items) console.log(JSON.stringify(item));
    });
}
