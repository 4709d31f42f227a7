/**
 * Certificates issued per second end to end: approved applications issued by N concurrent
 * certificate makers through the RA and CA services (each its own process, as `sm2ca start`
 * runs them), beside the crypto device's raw SM2 sign rate measured in the same run.
 * Goals on this 2-core machine (issue 12): >= 500/s, p99 <= 100 ms at 32 makers, <= 4 ms of CPU per
 * certificate over every process of the run (services, PostgreSQL, this driver).
 * Prints figures, never asserts.  Run: npx tsx bench/issue.ts [applications] [makers]
 * BENCH_PG_STATEMENTS=1 also lists what PostgreSQL ran per certificate (pg_stat_statements).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSm2Spki } from '@sm2ca/gm';
import { buildCsr } from '@sm2ca/pki';
import { loadConfig, openConfiguredDevice } from '@sm2ca/platform';
import { startEmbeddedPostgres } from '@sm2ca/store';
import { freePort } from '../test/support/free-port.ts';
import { startStack } from '../test/support/sm2ca-stack.ts';
import { addStackOperator } from '../test/support/stack-operators.ts';
import { printStatementStats, resetStatementStats, withStatementStats } from './pg-statements.ts';
import { processTreeCpu } from './process-tree-cpu.ts';

const applications = Number(process.argv[2] ?? 2000);
const statementStats = process.env.BENCH_PG_STATEMENTS === '1';
const makers = Number(process.argv[3] ?? 32);

async function rawSignRate(device: Awaited<ReturnType<typeof openConfiguredDevice>>, label: string) {
  const message = Buffer.alloc(512, 0x42);
  const deadline = performance.now() + 3000;
  let count = 0;
  // As many signatures in flight as the device session pool allows: what the CA process itself can get.
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < deadline) {
        await device.sign(label, message);
        count++;
      }
    }),
  );
  return count / 3;
}

const pgDir = mkdtempSync(join(tmpdir(), 'bench-issue-pg-'));
const pgOptions = { dir: pgDir, port: await freePort() };
let pg = await startEmbeddedPostgres(pgOptions);
if (statementStats) pg = await withStatementStats(pg, pgOptions);
const stack = await startStack(pg.url, { SM2CA_DB_POOL_SIZE: '20' }, ['ca', 'ra']);
try {
  const operator = (name: string, role: string) => addStackOperator(stack, name, [role]);
  const clerk = await operator('clerk', 'entry-clerk');
  const reviewer = await operator('reviewer', 'reviewer');
  const maker = await operator('maker', 'certificate-maker');
  const call = async (token: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.url.ra}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<{ id: string }>;
  };

  // Holder keys come from the bench's own device session: a holder's token, as far as the CA can tell.
  const device = await openConfiguredDevice(loadConfig(stack.env));
  process.stderr.write(`preparing ${applications} approved applications…\n`);
  const ids: string[] = [];
  let prepared = 0;
  const prepare = async () => {
    const i = prepared++;
    const label = `bench-holder-${i}`;
    const publicKey = decodeSm2Spki(await device.generateKeyPair({ label, token: false }));
    const csr = await buildCsr({ subject: [{ type: 'CN', value: label }], publicKey }, device.signer(label));
    const { id } = await call(clerk, '/v1/applications', {
      holderType: 'device',
      profile: 'device-sign',
      holder: { commonName: label, organization: 'Bench' },
      csr: Buffer.from(csr).toString('base64'),
      publishConsent: false,
    });
    await call(reviewer, `/v1/applications/${id}/review`, { decision: 'approve' });
    ids.push(id);
  };
  // A few at once: preparing is not what is measured, and one at a time takes minutes.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (prepared < applications) await prepare();
    }),
  );

  const rate = await rawSignRate(device, 'bench-holder-0');
  await device.close();

  process.stderr.write(`issuing with ${makers} concurrent makers…\n`);
  const latencies: number[] = [];
  let next = 0;
  if (statementStats) await resetStatementStats(pg.url);
  const cpuBefore = processTreeCpu();
  const driverBefore = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: makers }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const t = performance.now();
        await call(maker, `/v1/applications/${id}/issue`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const driverCpu = process.cpuUsage(driverBefore);
  const cpuAfter = processTreeCpu();
  if (statementStats) await printStatementStats(pg.url, applications, 'certificate');
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1);
  const issued = applications / seconds;
  const openssl = execFileSync('openssl', ['speed', '-seconds', '2', 'sm2'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .toString()
    .match(/SM2.*?\s([\d.]+)\s+([\d.]+)\s*$/m);
  console.log(`machine: ${(await import('node:os')).cpus().length} cores`);
  console.log(
    `issued end to end (approve → issue, RA + CA processes): ${applications} in ${seconds.toFixed(2)} s = ${issued.toFixed(0)}/s with ${makers} makers`,
  );
  console.log(`  latency per issue: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`device raw SM2 sign rate (same run, 4 in flight): ${rate.toFixed(0)}/s`);
  const perCertificate = (cpuSeconds: number) => ((cpuSeconds * 1000) / applications).toFixed(2);
  const cpuShares = [...cpuAfter].map(
    ([group, used]) => [group, used - (cpuBefore.get(group) ?? 0)] as const,
  );
  cpuShares.push(['driver', (driverCpu.user + driverCpu.system) / 1e6]);
  const ours = cpuShares.reduce((sum, [, used]) => sum + used, 0);
  console.log(
    `CPU ms per certificate: ${cpuShares.map(([group, used]) => `${group} ${perCertificate(used)}`).join(', ')}; total ${perCertificate(ours)}   (goal: <= 4)`,
  );
  if (openssl)
    console.log(
      `openssl speed sm2 (one core): ${Number(openssl[1]).toFixed(0)} sign/s, ${Number(openssl[2]).toFixed(0)} verify/s`,
    );
  console.log(
    `ratio issued / raw sign rate: ${((issued / rate) * 100).toFixed(0)}%   (goals: >= 500/s, p99 <= 100 ms)`,
  );
} finally {
  await stack.stop();
  await pg.stop();
  rmSync(pgDir, { recursive: true, force: true });
}
