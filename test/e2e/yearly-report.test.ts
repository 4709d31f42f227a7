import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoTally } from '../../cli/src/demo/demo-activity.ts';
import type { Report } from '../../cli/src/report/report-data.ts';
import { childEnv } from '../support/child-env.ts';
import { sm2caCli } from '../support/sm2ca-stack.ts';

const bin = new URL('../../cli/bin/sm2ca.js', import.meta.url).pathname;

type Summary = DemoTally & { home: string; auditorCredential: string; env: Record<string, string> };

/**
 * A few days of March 2030 made through the services by `sm2ca demo populate` (its clock moved
 * by libfaketime), then the yearly and monthly reports over them: every count is the one the
 * services answered while it was made.
 */
describe('sm2ca demo populate and sm2ca report yearly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-report-'));
  let child: ChildProcess;
  let summary: Summary;
  const report = (args: string[]) =>
    sm2caCli(
      ['report', 'yearly', ...args],
      childEnv({ ...summary.env, SM2CA_OPERATOR_CREDENTIAL: summary.auditorCredential }),
    );

  beforeAll(async () => {
    child = spawn(
      process.execPath,
      [
        bin,
        'demo',
        'populate',
        '--days',
        '5',
        '--per-day',
        '4',
        '--start',
        '2030-03-04',
        '--seed',
        '7',
        '--home',
        join(dir, 'home'),
        '--keep-running',
      ],
      { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (d) => {
        err += d;
        if (err.includes('demo stack running')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`demo populate exited with ${code}:\n${err}`)));
    });
    // The file is written before the stack is announced; standard output may still be in a pipe.
    summary = JSON.parse(readFileSync(join(dir, 'home', 'demo-summary.json'), 'utf8'));
  }, 400_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts what the services did, by holder type and certificate type', async () => {
    const monthly = await report(['--month', '2030-03', '--json']);
    expect(monthly.code, monthly.stderr).toBe(0);
    const figures = JSON.parse(monthly.stdout) as Report;
    const c = figures.certificates;
    expect(summary.certificates.total.issued).toBeGreaterThan(5);
    for (const type of ['person', 'organisation', 'device'] as const) {
      const { issued, revoked, renewed } = c.byHolderType[type];
      expect({ issued, revoked, renewed }, type).toEqual(summary.certificates[type]);
    }
    for (const type of ['signature', 'encryption'] as const) {
      const { issued, revoked, renewed } = c.byCertificateType[type];
      expect({ issued, revoked, renewed }, type).toEqual(summary.certificates[type]);
    }
    expect(c.total.validAtEnd).toBe(summary.certificates.total.issued - summary.certificates.total.revoked);
    expect(c.byMonth.find((m) => m.month === '2030-03')?.issued).toBe(summary.certificates.total.issued);
    const { received, decided, decidedOnTime } = figures.applications;
    expect({ received, decided, decidedOnTime }).toEqual({
      received: summary.applications.received,
      decided: summary.applications.decided,
      decidedOnTime: summary.applications.decidedOnTime,
    });
    expect(figures.crl.ok).toBe(true);
    expect(figures.crl.issuers.every((i) => i.fullCount >= summary.crlCheckpoints)).toBe(true);
    expect(figures.revocations.overRule).toBe(0);

    const yearly = await report(['--year', '2030', '--json']);
    const year = JSON.parse(yearly.stdout) as Report;
    expect(year.certificates.total).toEqual(c.total);
    expect(year.period).toMatchObject({ kind: 'year', from: '2030-01', to: '2030-12' });
    expect((await report(['--month', '2030-04', '--json'])).stdout).toContain('"issued": 0');
  }, 60_000);

  it('writes the HTML report and its PDF', async () => {
    const html = join(dir, 'report.html');
    const pdf = join(dir, 'report.pdf');
    const made = await report(['--month', '2030-03', '--output', html, '--pdf', pdf]);
    expect(made.code, made.stderr).toBe(0);
    const page = readFileSync(html, 'utf8');
    for (const id of ['certificates', 'applications', 'availability', 'crl', 'revocations']) {
      expect(page).toContain(`<section id="${id}">`);
    }
    expect(readFileSync(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  }, 60_000);
});
