/**
 * OCSP responder throughput: GET answered from pre-signed responses, and POST with a nonce
 * (signed live in the device), beside a bare Fastify endpoint returning the same bytes and
 * the device's raw SM2 sign rate, all measured in this run. The responder runs as in
 * production (services/ocsp/src/main.ts, its own process, its own device session, the
 * database over TCP); autocannon drives it from this process with 50 connections.
 * Everything shares the machine's cores: autocannon's CPU is taken from the server's, so the
 * figures are a floor for a responder with the cores to itself.
 * Goals (2 cores): pre-signed >= 40k responses/s and >= 70% of bare, p99 <= 5 ms;
 * nonce >= 80% of the raw sign rate. Prints figures, never asserts.
 * Run: npx tsx bench/ocsp.ts
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOcspRequest } from '@sm2ca/pki';
import Fastify from 'fastify';
import { decodeSm2Spki } from '../packages/gm/src/index.ts';
import { buildCsr, buildOcspCertId, parseCertificate, publicKeyOfSpki } from '../packages/pki/src/index.ts';
import { loadConfig } from '../packages/platform/src/config.ts';
import { openConfiguredDevice } from '../packages/platform/src/crypto-device.ts';
import { openDatabase } from '../packages/platform/src/database.ts';
import { signInstruction } from '../packages/platform/src/instruction.ts';
import { createLogger } from '../packages/platform/src/logger.ts';
import { buildCaApp } from '../services/ca/src/app.ts';
import { runKeyCeremony } from '../services/ca/src/key-ceremony.ts';
import { freePort } from '../test/support/free-port.ts';

/** The subset of autocannon (untyped) used here. */
interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface AutocannonRequest {
  method?: string;
  path?: string;
  body?: Buffer;
  headers?: Record<string, string>;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  requests?: AutocannonRequest[];
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const CERTIFICATES = 100;
const CONNECTIONS = 50;
const WARMUP_S = 2;
const DURATION_S = 10;
const SIGN_SECONDS = 3;
const self = fileURLToPath(import.meta.url);
const ocspMain = fileURLToPath(new URL('../services/ocsp/src/main.ts', import.meta.url));

/** CPU seconds a child has used so far (Linux /proc; utime + stime in clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Figures {
  rate: number;
  p50: number;
  p99: number;
  failures: number;
  serverCores: number;
  driverCores: number;
}

async function load(url: string, requests: AutocannonRequest[], serverPid: number): Promise<Figures> {
  await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_S, requests });
  const serverStart = cpuSecondsOf(serverPid);
  const driverStart = process.cpuUsage();
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, requests });
  const driver = process.cpuUsage(driverStart);
  return {
    rate: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    serverCores: (cpuSecondsOf(serverPid) - serverStart) / DURATION_S,
    driverCores: (driver.user + driver.system) / 1e6 / DURATION_S,
  };
}

interface RawSignRate {
  rate: number;
  cores: number;
  inFlight: number;
}

/** Child: the device's own sign rate with the OCSP signer key, a few signatures in flight. */
async function signWorker(): Promise<void> {
  const config = loadConfig();
  const device = await openConfiguredDevice(config);
  const message = randomBytes(300);
  let best: RawSignRate = { rate: 0, cores: 0, inFlight: 0 };
  for (const inFlight of [2, 4, 8]) {
    let count = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    const deadline = start + (SIGN_SECONDS * 1000) / 3;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < deadline) {
          await device.sign('ocsp-sub-1', message);
          count++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const rate = count / seconds;
    if (rate > best.rate) best = { rate, cores: (used.user + used.system) / 1e6 / seconds, inFlight };
  }
  await device.close();
  process.send?.(best, () => process.exit(0));
}

/** Child: Fastify with nothing but one route returning the given bytes. */
async function bareServer(port: number): Promise<void> {
  const bytes = await new Promise<Buffer>((resolve) =>
    process.once('message', (hex) => resolve(Buffer.from(String(hex), 'hex'))),
  );
  const app = Fastify();
  app.get('/ocsp/*', (_request, reply) => {
    reply.header('content-type', 'application/ocsp-response').send(bytes);
  });
  await app.listen({ host: '127.0.0.1', port });
  process.send?.('ready');
}

function childExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'bench-ocsp-'));
  const [pgPort, ocspPort, barePort] = [await freePort(), await freePort(), await freePort()];
  const env = { SM2CA_HOME: home, SM2CA_PG_PORT: String(pgPort), LOG_LEVEL: 'warn' };
  const config = loadConfig(env);
  const log = createLogger('bench', { level: 'warn' });
  const children: ChildProcess[] = [];
  const db = await openDatabase(config, log);
  try {
    // The CA as `sm2ca init` makes it, and certificates issued through its own route.
    const device = await openConfiguredDevice(config, { createToken: true });
    await runKeyCeremony(db.pool, device, config);
    const ca = await buildCaApp({ config, log, db, device });
    const serials: string[] = [];
    for (let i = 0; i < CERTIFICATES; i++) {
      const label = `bench-holder-${i}`;
      const publicKey = decodeSm2Spki(await device.generateKeyPair({ label, token: false }));
      const csr = await buildCsr(
        { subject: [{ type: 'CN', value: `holder ${i}` }], publicKey },
        device.signer(label),
      );
      const { payload, headers } = await signInstruction(
        {
          operation: 'issue',
          profile: 'person-sign',
          csr: Buffer.from(csr).toString('base64'),
          subject: [
            { type: 'C', value: 'CN' },
            { type: 'CN', value: `holder ${i}` },
          ],
        },
        device.signer('ra'),
      );
      const res = await ca.inject({ method: 'POST', url: '/v1/instructions/issue', payload, headers });
      if (res.statusCode !== 200) throw new Error(`issuance failed: ${res.body}`);
      serials.push(res.json().serial);
    }
    await ca.close();
    await device.close();
    const { rows } = await db.pool.query("SELECT certificate FROM issuers WHERE id = 'sub'");
    const sub = parseCertificate(rows[0].certificate);
    const issuer = { subjectDer: sub.subject, publicKey: publicKeyOfSpki(sub.spki) };
    const requests = serials.map((serial) =>
      buildOcspRequest([buildOcspCertId(issuer, BigInt(`0x${serial}`)).der]),
    );

    const childEnv = {
      ...process.env,
      ...env,
      DATABASE_URL: db.url,
      SM2CA_OCSP_HOST: '127.0.0.1',
      SM2CA_OCSP_PORT: String(ocspPort),
      // autocannon is one client address: under the default per-client limit (10/s) nearly every
      // nonce request would be answered tryLater unsigned, and the run would measure that instead.
      SM2CA_OCSP_LIVE_SIGNING_RATE: '100000',
      SM2CA_OCSP_LIVE_SIGNING_BURST: '100000',
    };
    const signer = fork(self, ['sign'], { execArgv: ['--import', 'tsx'], env: childEnv });
    children.push(signer);
    const raw = await new Promise<RawSignRate>((resolve) =>
      signer.once('message', (m) => resolve(m as unknown as RawSignRate)),
    );

    const ocsp = spawn(process.execPath, ['--import', 'tsx', ocspMain], { env: childEnv, stdio: 'inherit' });
    children.push(ocsp);
    const base = `http://127.0.0.1:${ocspPort}`;
    await waitFor(async () => (await fetch(`${base}/health/ready`)).ok, 'the responder');
    await waitFor(async () => {
      const counted = await db.pool.query(
        'SELECT count(*)::int AS n FROM ocsp_responses WHERE serial = ANY($1)',
        [serials],
      );
      return counted.rows[0].n === serials.length * 2;
    }, 'pre-signed responses');
    const getPaths = requests.map((r) => `/ocsp/${encodeURIComponent(r.toString('base64'))}`);
    const presigned = Buffer.from(await (await fetch(`${base}${getPaths[0]}`)).arrayBuffer());

    const bare = fork(self, ['bare', String(barePort)], { execArgv: ['--import', 'tsx'] });
    children.push(bare);
    bare.send(presigned.toString('hex'));
    await new Promise((resolve) => bare.once('message', resolve));
    const bareFigures = await load(
      `http://127.0.0.1:${barePort}`,
      [{ method: 'GET', path: getPaths[0]! }],
      bare.pid!,
    );
    await childExit(bare);

    const getFigures = await load(
      base,
      getPaths.map((path) => ({ method: 'GET', path })),
      ocsp.pid!,
    );
    let next = 0;
    const nonceBodies = Array.from({ length: 1000 }, (_, i) =>
      buildOcspRequest(
        [buildOcspCertId(issuer, BigInt(`0x${serials[i % serials.length]}`)).der],
        randomBytes(16),
      ),
    );
    const nonceFigures = await load(
      base,
      [
        {
          method: 'POST',
          path: '/ocsp',
          headers: { 'content-type': 'application/ocsp-request' },
          setupRequest: (request) => ({ ...request, body: nonceBodies[next++ % nonceBodies.length]! }),
        },
      ],
      ocsp.pid!,
    );

    const columns: Array<[string, number]> = [
      ['req/s', 9],
      ['p50 ms', 8],
      ['p99 ms', 8],
      ['ratio', 12],
      ['server', 8],
      ['driver', 8],
      ['µs/req', 8],
      ['failed', 8],
    ];
    const line = (name: string, cells: string[]) =>
      `${name.padEnd(26)}${cells.map((cell, i) => cell.padStart(columns[i]![1])).join('')}`;
    const row = (name: string, f: Figures, ratio: string) =>
      line(name, [
        f.rate.toFixed(0),
        f.p50.toFixed(1),
        f.p99.toFixed(1),
        ratio,
        f.serverCores.toFixed(2),
        f.driverCores.toFixed(2),
        ((f.serverCores / f.rate) * 1e6).toFixed(0),
        String(f.failures),
      ]);
    const perCore = nonceFigures.rate / nonceFigures.serverCores / (raw.rate / raw.cores);
    console.log(
      `\nOCSP responder, ${cpus().length} CPUs, ${CONNECTIONS} connections, ${DURATION_S} s per run after ${WARMUP_S} s warm-up`,
    );
    console.log(
      `device raw sign rate (device.sign, key ocsp-sub-1, best of 2/4/8 in flight): ${raw.rate.toFixed(0)} sign/s ` +
        `on ${raw.cores.toFixed(2)} cores (${raw.inFlight} in flight)\n`,
    );
    console.log(
      line(
        'endpoint',
        columns.map(([title]) => title),
      ),
    );
    console.log(row('bare Fastify, same bytes', bareFigures, '1.00 bare'));
    console.log(row('GET pre-signed', getFigures, `${(getFigures.rate / bareFigures.rate).toFixed(2)} bare`));
    console.log(
      row('POST nonce (live sign)', nonceFigures, `${(nonceFigures.rate / raw.rate).toFixed(2)} raw`),
    );
    console.log(
      `\nnonce per core used: ${perCore.toFixed(2)} of the raw sign rate per core` +
        '\nserver, driver: cores used by the responder process and by autocannon (this process) during the run;' +
        '\nµs/req: server CPU per response. The rest of the 2 cores goes to other processes on the machine.' +
        '\nGoals: GET >= 40000 req/s, >= 0.70 of bare, p99 <= 5 ms; nonce >= 0.80 of the raw sign rate.',
    );
  } finally {
    for (const child of children) await childExit(child);
    await db.close();
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'sign') await signWorker();
else if (process.argv[2] === 'bare') await bareServer(Number(process.argv[3]));
else await main();
