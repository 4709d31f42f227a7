/**
 * Batch issuance end to end: an entry clerk submits one batch (1% of its rows bad), a reviewer
 * approves it as a batch, a certificate maker issues it in one operation through the RA and CA
 * services (each its own process, as `sm2ca start` runs them). Prints certificates/s of the
 * issue operation beside the device's raw SM2 sign rate measured in the same run, and the CPU
 * each process spent per certificate while issuing. Also checks the acceptance: every good row
 * issued, every bad row reported. Goal: >= 1,200/s and >= 40% of the raw sign rate.
 * Prints figures, never asserts.  Run: npx tsx bench/batch-issue.ts [rows] [bad-percent]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, openConfiguredDevice } from '@sm2ca/platform';
import { startEmbeddedPostgres } from '@sm2ca/store';
import { prepareBatchRows } from '../test/support/batch-rows.ts';
import { freePort } from '../test/support/free-port.ts';
import { startStack } from '../test/support/sm2ca-stack.ts';
import { addStackOperator } from '../test/support/stack-operators.ts';

const rowCount = Number(process.argv[2] ?? 10_000);
const badPercent = Number(process.argv[3] ?? 1);

async function rawSignRate(device: Awaited<ReturnType<typeof openConfiguredDevice>>, label: string) {
  const message = Buffer.alloc(512, 0x42);
  const deadline = performance.now() + 3000;
  let count = 0;
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

const tick = 100;
/** utime + stime of a process, ms; 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / tick;
  } catch {
    return 0;
  }
}
function listenerPid(port: number): number {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`]).toString();
  return Number(/pid=(\d+)/.exec(out)![1]);
}
/** The postmaster and every backend it forked. */
function postgresPids(postmaster: number): number[] {
  const pids = [postmaster];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

const pgDir = mkdtempSync(join(tmpdir(), 'bench-batch-pg-'));
const pg = await startEmbeddedPostgres({ dir: pgDir, port: await freePort() });
const stack = await startStack(pg.url, { SM2CA_DB_POOL_SIZE: '20' }, ['ca', 'ra']);
try {
  const token = {
    clerk: await addStackOperator(stack, 'clerk', ['entry-clerk']),
    reviewer: await addStackOperator(stack, 'reviewer', ['reviewer']),
    maker: await addStackOperator(stack, 'maker', ['certificate-maker']),
  };
  const call = async <T>(
    who: keyof typeof token,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> => {
    const res = await fetch(`${stack.url.ra}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token[who]}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  const device = await openConfiguredDevice(loadConfig(stack.env));
  process.stderr.write(`preparing ${rowCount} rows (${badPercent}% bad)…\n`);
  const { rows, badRows } = await prepareBatchRows(device, rowCount, badPercent, 'bench-batch');
  const rate = await rawSignRate(device, 'bench-batch-0');
  await device.close();

  const raPid = listenerPid(Number(new URL(stack.url.ra).port));
  let raCpu = cpuMs(raPid);
  let t = performance.now();
  const entered = await call<{ batch: { id: string }; invalid: Array<{ rowNumber: number; code: string }> }>(
    'clerk',
    'POST',
    '/v1/batches',
    { rows },
  );
  const submitSeconds = (performance.now() - t) / 1000;
  const submitCpu = cpuMs(raPid) - raCpu;
  raCpu = cpuMs(raPid);
  const batchId = entered.batch.id;
  t = performance.now();
  await call<unknown>('reviewer', 'POST', `/v1/batches/${batchId}/review`, { decision: 'approve' });
  const reviewSeconds = (performance.now() - t) / 1000;
  const reviewCpu = cpuMs(raPid) - raCpu;

  const caPid = listenerPid(Number(new URL(stack.url.ca).port));
  const postmaster = Number(readFileSync(join(pgDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pgPids = postgresPids(postmaster);
  const before = { ra: cpuMs(raPid), ca: cpuMs(caPid), pg: pgPids.map(cpuMs), driver: process.cpuUsage() };

  process.stderr.write(`issuing batch ${batchId}…\n`);
  t = performance.now();
  const issued = await call<{
    issued: unknown[];
    failed: unknown[];
    stopped?: { code: string; message: string };
  }>('maker', 'POST', `/v1/batches/${batchId}/issue`);
  const issueSeconds = (performance.now() - t) / 1000;

  const pgNow = postgresPids(postmaster);
  const pgMs =
    pgNow.reduce((sum, pid) => sum + cpuMs(pid), 0) -
    pgPids.reduce((sum, pid, i) => sum + (pgNow.includes(pid) ? before.pg[i]! : 0), 0);
  const driver = process.cpuUsage(before.driver);
  const count = issued.issued.length;
  const perCert = (ms: number) => (ms / count).toFixed(2);
  const cpu = {
    ra: cpuMs(raPid) - before.ra,
    ca: cpuMs(caPid) - before.ca,
    pg: pgMs,
    driver: (driver.user + driver.system) / 1000,
  };

  const reported = entered.invalid.map((r) => r.rowNumber);
  const acceptance =
    count === rowCount - badRows.length &&
    issued.failed.length === 0 &&
    JSON.stringify(reported) === JSON.stringify(badRows);
  const perSecond = count / issueSeconds;
  console.log(
    `machine: ${(await import('node:os')).cpus().length} cores, load ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `batch of ${rowCount} rows, ${badRows.length} bad: submit ${submitSeconds.toFixed(2)} s, review ${reviewSeconds.toFixed(2)} s`,
  );
  console.log(
    `RA CPU ms per row: submit ${(submitCpu / rowCount).toFixed(2)}, review ${(reviewCpu / rowCount).toFixed(2)}`,
  );
  console.log(
    `issued end to end (one maker call, RA + CA processes): ${count} in ${issueSeconds.toFixed(2)} s = ${perSecond.toFixed(0)}/s`,
  );
  console.log(`device raw SM2 sign rate (same run, 4 in flight): ${rate.toFixed(0)}/s`);
  console.log(
    `ratio issued / raw sign rate: ${((perSecond / rate) * 100).toFixed(0)}%   (goals: >= 1200/s, >= 40%)`,
  );
  console.log(
    `CPU ms per certificate while issuing: RA ${perCert(cpu.ra)}, CA ${perCert(cpu.ca)}, PostgreSQL ${perCert(cpu.pg)}, driver ${perCert(cpu.driver)}, total ${perCert(cpu.ra + cpu.ca + cpu.pg + cpu.driver)}`,
  );
  if (issued.stopped) console.log(`stopped: ${issued.stopped.code} ${issued.stopped.message}`);
  console.log(
    `acceptance (every good row issued, every bad row reported): ${acceptance ? 'yes' : `NO (issued ${count}, failed ${issued.failed.length}, reported ${reported.length})`}`,
  );
} finally {
  await stack.stop();
  await pg.stop();
  rmSync(pgDir, { recursive: true, force: true });
}
