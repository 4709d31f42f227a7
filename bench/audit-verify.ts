/**
 * Verification of the audit chain at scale: 1,000,000 audit records inserted in bulk, sealed into
 * the SM3 chain, a checkpoint signed by the audit key, then `sm2ca audit verify`'s work over the
 * database and over an export of it. Prints sealing and verification rates.
 * Goal: verifying 1,000,000 records in under 30 s. Prints figures, never asserts.
 * Run: npx tsx bench/audit-verify.ts [records]
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKeyCeremony } from '@sm2ca/ca';
import { openDevice } from '@sm2ca/device';
import {
  auditTrust,
  exportAudit,
  loadCheckpoints,
  loadConfig,
  makeCheckpoint,
  readChain,
  readExport,
  sealAuditRecords,
  unchainedRecords,
  verifyAuditChain,
} from '@sm2ca/platform';
import { connectPool, migrate, migrationsDir, startEmbeddedPostgres } from '@sm2ca/store';
import { hsmSim, tokenConfig } from '../packages/device/src/test-tokens.ts';
import { freePort } from '../test/support/free-port.ts';

const total = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
const seconds = (start: number) => (performance.now() - start) / 1000;
const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en')} records/s`;
/** CPU ticks of every PostgreSQL backend serving the bench's database, by pid (Linux /proc; 100 ticks a second). */
async function backendTicks(): Promise<Map<number, number>> {
  const { rows } = await pool.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  const ticks = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /, '')
        .split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // A backend that ended meanwhile: its share is lost, the figure a lower bound.
    }
  }
  return ticks;
}
const backendCpu = async (from: Map<number, number>) => {
  let used = 0;
  for (const [pid, ticks] of await backendTicks()) used += ticks - (from.get(pid) ?? 0);
  return `${(used / 100).toFixed(1)} s CPU in PostgreSQL`;
};
/** CPU seconds this process used since `from`: on a shared machine, wall time says little. */
const cpu = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return `${((used.user + used.system) / 1e6).toFixed(1)} s CPU here`;
};

const pg = await startEmbeddedPostgres({ dir: join(dir, 'pg'), port: await freePort() });
const pool = await connectPool(pg.url);
const { HSMSIM_DIR: tokenDir } = await hsmSim.createTokens(['bench-audit'], 'bench-so-pin', 'bench-pin');
const device = await openDevice(tokenConfig(hsmSim, 'bench-audit', 'bench-pin'));
try {
  await migrate(pool, migrationsDir);
  const config = loadConfig({ SM2CA_HOME: join(dir, 'home') });
  await runKeyCeremony(pool, device, config);

  let start = performance.now();
  // Shaped like the RA's and CA's records: an actor, a subject, a small jsonb after-image.
  await pool.query(
    `INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, before, after)
     SELECT 'operator-' || (g % 50), 'reviewer', 'application.review', 'application', 'app-' || g,
            CASE WHEN g % 3 = 0 THEN jsonb_build_object('status', 'submitted') END,
            jsonb_build_object('status', 'approved', 'decision', 'approve', 'n', g, 'note', '审核通过')
       FROM generate_series(1, $1) g`,
    [total],
  );
  process.stderr.write(`inserted ${total} records in ${seconds(start).toFixed(1)} s\n`);

  start = performance.now();
  const { sealed } = await sealAuditRecords(pool, { batch: 20_000 });
  const sealing = seconds(start);
  await makeCheckpoint(pool, (label) => device.signer(label), { home: config.home, madeBy: 'bench' });
  console.log(`sealed ${sealed} records in ${sealing.toFixed(1)} s (${rate(sealed, sealing)})`);
  // A table at rest, as autovacuum leaves it long before anyone audits it: statistics and hint bits set.
  await pool.query('VACUUM ANALYZE audit_log, audit_chain');

  start = performance.now();
  let cpuStart = process.cpuUsage();
  const pgStart = await backendTicks();
  const trust = await auditTrust(pool);
  const report = await verifyAuditChain({
    ...trust,
    checkpoints: await loadCheckpoints(pool),
    links: readChain(pool),
    fromGenesis: true,
  });
  const unchained = await unchainedRecords(pool);
  const verifying = seconds(start);
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${availableParallelism()} cores`,
  );
  console.log(
    `database verify: ${report.records} records, ${report.checkpointsVerified} checkpoint(s), ${report.problems.length} problems, ${unchained.behind.length + unchained.pending} unchained in ${verifying.toFixed(1)} s, ${cpu(cpuStart)}, ${await backendCpu(pgStart)} (${rate(report.records, verifying)}; goal: 1,000,000 in < 30 s)`,
  );

  const file = join(dir, 'export.jsonl');
  start = performance.now();
  const out = createWriteStream(file);
  await exportAudit(pool, { from: new Date(0), to: new Date(Date.now() + 86_400_000) }, async (line) => {
    if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  });
  await new Promise<void>((resolve) => out.end(() => resolve()));
  const exporting = seconds(start);
  start = performance.now();
  cpuStart = process.cpuUsage();
  const contents = await readExport(file);
  const offline = await verifyAuditChain({ ...contents, links: contents.links(), fromGenesis: false });
  const offlineSeconds = seconds(start);
  console.log(
    `export ${exporting.toFixed(1)} s; offline verify: ${offline.records} records, ${offline.problems.length} problems in ${offlineSeconds.toFixed(1)} s, ${cpu(cpuStart)} (${rate(offline.records, offlineSeconds)})`,
  );
} finally {
  await device.close();
  await pool.end();
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(tokenDir!, { recursive: true, force: true });
}
