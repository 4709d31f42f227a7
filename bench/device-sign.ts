/**
 * SM2 signatures per second through packages/device on hsm-sim: sync and async paths, 1 and 2 worker
 * processes, beside `openssl speed -seconds 3 sm2` from the same run. Goal: >= 70% of OpenSSL's
 * single-core rate per core used. Prints figures, never asserts.
 * Run: npx tsx bench/device-sign.ts      (BENCH_DEVICE=softhsm compares ECDSA P-256 on SoftHSM2 instead)
 */
import { execFileSync, fork } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { openDevice } from '../packages/device/src/device.ts';
import type { DeviceConfig } from '../packages/device/src/device-config.ts';
import { hsmSim, softhsm } from '../packages/device/src/test-tokens.ts';

type Path = 'sync' | 'async';

interface WorkerResult {
  signatures: number;
  seconds: number;
  cpuSeconds: number;
}

const seconds = 3;
const inFlight = 2;
const label = 'bench-sign';
const message = Buffer.alloc(256, 0x5a);

async function worker(config: DeviceConfig, path: Path): Promise<void> {
  const device = await openDevice(config);
  for (let i = 0; i < 50; i++) device.signSync(label, message);
  process.send?.('ready');
  await new Promise((resolve) => process.once('message', resolve));
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let signatures = 0;
  if (path === 'sync') {
    while (performance.now() < deadline) {
      device.signSync(label, message);
      signatures++;
    }
  } else {
    const loop = async () => {
      while (performance.now() < deadline) {
        await device.sign(label, message);
        signatures++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, loop));
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  await device.close();
  const result: WorkerResult = { signatures, seconds: elapsed, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  process.send?.(result, () => process.exit(0));
}

/** Forks `count` workers, starts them together once all are warm, and sums what they did. */
async function measure(
  config: DeviceConfig,
  env: Record<string, string>,
  path: Path,
  count: number,
): Promise<WorkerResult> {
  const children = Array.from({ length: count }, () =>
    fork(fileURLToPath(import.meta.url), ['worker', path, JSON.stringify(config)], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
    }),
  );
  const results = children.map(
    (child) =>
      new Promise<WorkerResult>((resolve, reject) => {
        child.on('message', (m) => {
          if (typeof m === 'object') resolve(m as unknown as WorkerResult);
        });
        child.on('exit', (code) => reject(new Error(`worker exited with ${code}`)));
      }),
  );
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))));
  for (const child of children) child.send('go');
  const all = await Promise.all(results);
  return {
    signatures: all.reduce((sum, r) => sum + r.signatures, 0),
    seconds: Math.max(...all.map((r) => r.seconds)),
    cpuSeconds: all.reduce((sum, r) => sum + r.cpuSeconds, 0),
  };
}

function opensslSignRate(algorithm: string): number {
  const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), algorithm], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const row = out.split('\n').find((line) => /^\s*\d+ bits /.test(line));
  const numbers = row?.match(/\d+(\.\d+)?(?=\s|$)/g)?.map(Number) ?? [];
  // Columns: bits, sign s, verify s, sign/s, verify/s; the time columns carry an "s" suffix.
  const rate = numbers.at(-2);
  if (rate === undefined) throw new Error(`cannot parse openssl speed output:\n${out}`);
  return rate;
}

async function main(): Promise<void> {
  const backend = process.env.BENCH_DEVICE === 'softhsm' ? softhsm : hsmSim;
  if (!backend.available) {
    console.log(`${backend.module} is missing: build it with make -C hsm-sim`);
    return;
  }
  const env = await backend.createTokens(['bench'], '87654321', '12345678');
  const config: DeviceConfig = {
    module: backend.module,
    vendor: backend.vendor,
    tokenLabel: 'bench',
    pin: '12345678',
    sessions: inFlight,
  };
  const setup = await openDevice(config);
  await setup.generateKeyPair({ label });
  await setup.close();

  const algorithm = backend.vendor === 'softhsm' ? 'ecdsap256' : 'sm2';
  const openssl = opensslSignRate(algorithm);
  console.log(`device-sign on ${backend.vendor} (${cpus().length} CPUs), ${seconds} s per run`);
  console.log(`openssl speed ${algorithm}: ${openssl.toFixed(0)} sign/s on one core\n`);
  console.log('path   workers   sign/s   cores used   vs openssl   per core vs openssl');
  for (const path of ['sync', 'async'] as const) {
    for (const workers of [1, 2]) {
      const r = await measure(config, env, path, workers);
      const rate = r.signatures / r.seconds;
      const cores = r.cpuSeconds / r.seconds;
      const perCore = rate / Math.max(cores, 1e-9) / openssl;
      console.log(
        `${path.padEnd(6)} ${String(workers).padStart(7)} ${rate.toFixed(0).padStart(8)} ${cores
          .toFixed(2)
          .padStart(
            12,
          )} ${`${((rate / openssl) * 100).toFixed(0)}%`.padStart(12)} ${`${(perCore * 100).toFixed(0)}%`.padStart(21)}`,
      );
    }
  }
}

if (process.argv[2] === 'worker') {
  await worker(JSON.parse(process.argv[4] ?? '{}'), process.argv[3] as Path);
} else {
  await main();
}
