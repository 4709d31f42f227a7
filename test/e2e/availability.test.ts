import {
  buildOcspCertId,
  buildOcspRequest,
  parseCertificate,
  parseOcspResponse,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import { connectPool, type Pool } from '@sm2ca/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicePid } from '../support/service-pid.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { addStackOperator } from '../support/stack-operators.ts';
import { createTestDatabase } from '../support/test-database.ts';

const intervalSeconds = 0.2;

/**
 * The availability monitor measures a service's downtime: a service killed and brought back by the
 * supervisor is down, per the probes, for the gap a relying party saw, within one probe interval;
 * the same outage inside a maintenance window counts as planned.
 */
describe('availability monitor end to end', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  let pool: Pool;
  let auditor: string;
  let admin: string;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    stack = await startStack(db.url, { SM2CA_MONITOR_INTERVAL_SECONDS: String(intervalSeconds) });
    pool = await connectPool(db.url);
    auditor = await addStackOperator(stack, 'avail-auditor', ['auditor']);
    admin = await addStackOperator(stack, 'avail-admin', ['business-admin']);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await pool?.end();
    await drop?.();
  });

  /** Whether the OCSP responder gives a relying party a signed answer, and the CRL service a CRL. */
  async function answers(service: 'ocsp' | 'crl'): Promise<boolean> {
    try {
      if (service === 'crl') {
        const { rows } = await pool.query(`SELECT id FROM issuers WHERE kind = 'subordinate' LIMIT 1`);
        return (await fetch(`${stack.url.crl}/crl/${rows[0].id}.crl`, { signal: AbortSignal.timeout(1000) }))
          .ok;
      }
      const { rows } = await pool.query(`SELECT certificate FROM issuers WHERE kind = 'subordinate' LIMIT 1`);
      const issuer = parseCertificate(new Uint8Array(rows[0].certificate));
      const request = buildOcspRequest([
        buildOcspCertId({ subjectDer: issuer.subject, publicKey: publicKeyOfSpki(issuer.spki) }, 1n).der,
      ]);
      const res = await fetch(`${stack.url.ocsp}/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: request,
        signal: AbortSignal.timeout(1000),
      });
      return res.ok && parseOcspResponse(new Uint8Array(await res.arrayBuffer())).status === 'successful';
    } catch {
      return false;
    }
  }

  /** Kills the service and waits until the supervisor has it answering again: the gap, in seconds. */
  async function outage(service: 'ocsp' | 'crl'): Promise<number> {
    expect(await answers(service)).toBe(true);
    const pid = servicePid(stack, service);
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    while (!(await answers(service))) await new Promise((r) => setTimeout(r, 20));
    return (performance.now() - killedAt) / 1000;
  }

  async function availability(): Promise<
    Record<string, { downSeconds: number; plannedSeconds: number; failedProbes: number }>
  > {
    // Yesterday too, in case the run crosses midnight in China Standard Time.
    const today = new Date(Date.now() + 8 * 3600_000);
    const from = new Date(today.getTime() - 86_400_000).toISOString().slice(0, 10);
    const result = await stack.cli(['evidence', 'availability', '--from', from, '--json'], {
      SM2CA_OPERATOR_CREDENTIAL: auditor,
    });
    expect(result.code, result.stderr).toBe(0);
    const totals: Record<string, { downSeconds: number; plannedSeconds: number; failedProbes: number }> = {};
    for (const period of JSON.parse(result.stdout).periods) {
      for (const s of period.services) {
        totals[s.service] ??= { downSeconds: 0, plannedSeconds: 0, failedProbes: 0 };
        const total = totals[s.service]!;
        total.downSeconds += s.downSeconds;
        total.plannedSeconds += s.plannedSeconds;
        total.failedProbes += s.failedProbes;
      }
    }
    return totals;
  }

  type Totals = Awaited<ReturnType<typeof availability>>;
  function since(before: Totals, after: Totals): Totals {
    const change: Totals = {};
    for (const [service, total] of Object.entries(after)) {
      const was = before[service] ?? { downSeconds: 0, plannedSeconds: 0, failedProbes: 0 };
      change[service] = {
        downSeconds: Math.round((total.downSeconds - was.downSeconds) * 10) / 10,
        plannedSeconds: Math.round((total.plannedSeconds - was.plannedSeconds) * 10) / 10,
        failedProbes: total.failedProbes - was.failedProbes,
      };
    }
    return change;
  }

  it('measures an outage within one probe interval, and one inside a maintenance window as planned', async () => {
    const window = await stack.cli(
      ['maintenance', 'add', '--service', 'crl', '--minutes', '10', '--reason', 'CRL service restart'],
      { SM2CA_OPERATOR_CREDENTIAL: admin },
    );
    expect(window.code, window.stderr).toBe(0);
    expect(JSON.parse(window.stdout)).toMatchObject({ service: 'crl', reason: 'CRL service restart' });

    // What the probes saw before (a service still starting on a busy machine) is not this outage.
    const before = await availability();
    const [ocspGap, crlGap] = await Promise.all([outage('ocsp'), outage('crl')]);
    // A few probes after the return, so the last down interval is closed by a passing probe.
    await new Promise((r) => setTimeout(r, 5 * intervalSeconds * 1000));

    const totals = since(before, await availability());
    // The gap as the test saw it includes its own polling step and the probe's answer time.
    const slack = intervalSeconds + 0.3;
    expect(totals.ocsp!.failedProbes).toBeGreaterThan(0);
    expect(
      Math.abs(totals.ocsp!.downSeconds - ocspGap),
      JSON.stringify({ totals, ocspGap }),
    ).toBeLessThanOrEqual(slack);
    expect(totals.ocsp!.plannedSeconds).toBe(0);
    expect(totals.crl!.downSeconds).toBe(0);
    expect(
      Math.abs(totals.crl!.plannedSeconds - crlGap),
      JSON.stringify({ totals, crlGap }),
    ).toBeLessThanOrEqual(slack);
    expect(totals.ra!.downSeconds).toBe(0);

    const table = await stack.cli(['evidence', 'availability', '--granularity', 'month'], {
      SM2CA_OPERATOR_CREDENTIAL: auditor,
    });
    expect(table.stdout).toMatch(/ocsp\s+\d+\.\d{3}%/);
    const listed = await stack.cli(['maintenance', 'list'], { SM2CA_OPERATOR_CREDENTIAL: auditor });
    expect(JSON.parse(listed.stdout).windows).toHaveLength(1);

    const metrics = await (await fetch(`${stack.url.monitor}/metrics`)).text();
    expect(metrics).toMatch(
      /sm2ca_availability_probes_total\{endpoint="ocsp",result="failed",code="CONNECTION_REFUSED"/,
    );
    expect(metrics).toMatch(/sm2ca_availability_up\{[^}]*endpoint="ocsp"[^}]*\} 1/);
  }, 120_000);
});
