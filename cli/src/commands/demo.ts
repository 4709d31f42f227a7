import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '@sm2ca/platform';
import type { Command } from 'commander';
import { type CrlEvidence, populate, type Role } from '../demo/demo-activity.ts';
import { HolderKeys } from '../demo/demo-holders.ts';
import { type DemoStack, startDemoStack } from '../demo/demo-stack.ts';

interface PopulateOptions {
  days: string;
  perDay: string;
  start?: string;
  seed: string;
  home?: string;
  keepRunning?: boolean;
}

const positive = (text: string, name: string, max: number) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new AppError('DEMO_OPTION_INVALID', `${name} is a whole number from 1 to ${max}`);
  }
  return value;
};

async function operator(stack: DemoStack, name: string, roles: string[]): Promise<string> {
  const res = await fetch(`${stack.url.ra}/v1/admin/operators`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.superAdmin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, identity: `demo-${name}`, roles }),
  });
  const body = (await res.json()) as { credential?: string };
  if (!res.ok || !body.credential)
    throw new AppError('DEMO_OPERATOR_FAILED', `operator ${name}: ${JSON.stringify(body)}`, 500);
  return body.credential;
}

async function request(url: string, credential: string, method: string, body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${credential}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok)
    throw new AppError('DEMO_STEP_FAILED', `${method} ${url}: ${res.status} ${JSON.stringify(json)}`, 500);
  return json;
}

/** Seed data for demos and tests: a scratch CA that has lived through the given days. */
export function registerDemoCommands(program: Command): void {
  const demo = program.command('demo').description('demonstration data on a scratch stack');
  demo
    .command('populate')
    .description(
      'start a scratch stack (embedded PostgreSQL) under libfaketime and drive days of applications, reviews, issuance, renewals, freezes, revocations and CRLs through its services',
    )
    .option('--days <n>', 'how many days of activity', '400')
    .option('--per-day <n>', 'applications on a working day', '12')
    .option('--start <YYYY-MM-DD>', 'first day (China Standard Time); default: --days before today')
    .option('--seed <n>', 'the same seed gives the same history', '1')
    .option('--home <dir>', 'an empty directory for the scratch stack; default: a new temporary one')
    .option(
      '--keep-running',
      'leave the stack running afterwards (until interrupted), its clock where the history ended',
    )
    .action(async (options: PopulateOptions) => {
      const days = positive(options.days, '--days', 3660);
      const perDay = positive(options.perDay, '--per-day', 1000);
      const day =
        options.start ?? new Date(Date.now() + 8 * 3600_000 - days * 86_400_000).toISOString().slice(0, 10);
      const start = new Date(`${day}T00:00:00+08:00`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(start.getTime())) {
        throw new AppError('DEMO_OPTION_INVALID', '--start is a date YYYY-MM-DD');
      }
      const home = options.home ?? mkdtempSync(join(tmpdir(), 'sm2ca-demo-'));
      mkdirSync(home, { recursive: true });
      if (readdirSync(home).length > 0) throw new AppError('DEMO_HOME_NOT_EMPTY', `${home} is not empty`);
      const keyDir = mkdtempSync(join(tmpdir(), 'sm2ca-demo-keys-'));
      const started = Date.now();
      const stack = await startDemoStack(home, start);
      try {
        const credential: Record<Role | 'auditor', string> = {
          clerk: await operator(stack, 'clerk', ['entry_clerk']),
          reviewer: await operator(stack, 'reviewer', ['reviewer']),
          maker: await operator(stack, 'maker', ['certificate_maker']),
          auditor: await operator(stack, 'auditor', ['auditor']),
        };
        const tally = await populate(
          { start, days, perDay, seed: Number(options.seed) },
          {
            call: (as, method, path, body) => request(`${stack.url.ra}${path}`, credential[as], method, body),
            crlEvidence: async () =>
              (await request(
                `${stack.url.crl}/v1/evidence/crls`,
                credential.auditor,
                'GET',
              )) as unknown as CrlEvidence,
            keys: new HolderKeys(keyDir),
            setClock: stack.setClock,
            log: (line) => process.stderr.write(`${line}\n`),
          },
        );
        const summary = {
          home,
          seconds: Math.round((Date.now() - started) / 1000),
          auditorCredential: credential.auditor,
          env: Object.fromEntries(Object.entries(stack.env).filter(([k]) => k.startsWith('SM2CA_'))),
          ...tally,
        };
        writeFileSync(join(home, 'demo-summary.json'), JSON.stringify(summary, null, 2));
        console.log(JSON.stringify(summary, null, 2));
        if (options.keepRunning) {
          process.stderr.write('demo stack running; interrupt to stop it\n');
          await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
        }
      } finally {
        await stack.stop();
        rmSync(keyDir, { recursive: true, force: true });
      }
    });
}
