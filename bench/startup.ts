/**
 * Time from `sm2ca start` to the first OCSP answer, as an operator sees it: once with a fresh
 * home (embedded PostgreSQL created, migrations, key ceremony) and once more on the home the
 * first run left (data present). The CLI runs the JavaScript compiled by `npm ci` when it is
 * current (cli/bin/sm2ca.js), its services likewise. The answer is a signed-or-unsigned OCSP
 * response to a request for an issuer the responder does not know: it proves the responder
 * listens, has loaded its issuers and answers DER, which is what a relying party waits for.
 * Goals: <= 5 s fresh, <= 3 s with data present. Prints figures, never asserts.
 * Run: npx tsx bench/startup.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOcspRequest } from '../packages/pki/src/index.ts';
import { childEnv } from '../test/support/child-env.ts';
import { freePort } from '../test/support/free-port.ts';

const bin = new URL('../cli/bin/sm2ca.js', import.meta.url).pathname;
const TIMEOUT_MS = 600_000;

/** A CertID (SHA-1 hashes of no known issuer): any responder that is up answers it. */
function unknownCertId(): Buffer {
  const tlv = (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag, content.length]), content]);
  const sha1 = tlv(0x30, Buffer.from('06052b0e03021a0500', 'hex'));
  return Buffer.concat([
    sha1,
    tlv(0x04, randomBytes(20)),
    tlv(0x04, randomBytes(20)),
    tlv(0x02, Buffer.from([1])),
  ]);
}

async function ocspAnswers(url: string, body: Buffer): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body,
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    return response.headers.get('content-type') === 'application/ocsp-response' && bytes[0] === 0x30;
  } catch {
    return false;
  }
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    // As Ctrl-C in a terminal: the whole group, so nothing is left behind even mid-start.
    process.kill(-child.pid!, 'SIGINT');
  });
}

/** Seconds from the start to the first answer, and to each progress line of `sm2ca start`. */
interface StartTimes {
  answer: number;
  phases: string[];
}

async function timeToFirstAnswer(env: NodeJS.ProcessEnv, ocspUrl: string): Promise<StartTimes> {
  const request = buildOcspRequest([unknownCertId()]);
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [bin, 'start', '--super-admin', 'bench', '--super-admin-identity', 'bench-0001'],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  const phases: string[] = [];
  const seconds = () => ((performance.now() - started) / 1000).toFixed(2);
  const read = (d: Buffer) => {
    output += d;
    for (const line of String(d).split('\n')) {
      if (/^• (starting|connecting|CA |services|\w+ ready|all services)/.test(line)) {
        phases.push(`${seconds().padStart(7)} s  ${line.slice(2, 90)}`);
      }
    }
  };
  child.stdout?.on('data', read);
  child.stderr?.on('data', read);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  try {
    let answer: number | undefined;
    while (answer === undefined && performance.now() - started < TIMEOUT_MS) {
      if (exited()) throw new Error(`sm2ca start exited with ${child.exitCode}:\n${output}`);
      if (await ocspAnswers(ocspUrl, request)) answer = (performance.now() - started) / 1000;
      else await new Promise((r) => setTimeout(r, 25));
    }
    if (answer === undefined) throw new Error(`no OCSP answer after ${TIMEOUT_MS / 1000} s:\n${output}`);
    // Ctrl-C stops the services only once `sm2ca start` has them all up: wait for that first.
    while (!output.includes('all services are up') && !exited() && performance.now() - started < TIMEOUT_MS) {
      await new Promise((r) => setTimeout(r, 25));
    }
    return { answer, phases };
  } finally {
    await stopped(child);
  }
}

const home = mkdtempSync(join(tmpdir(), 'sm2ca-startup-'));
try {
  const port = { ocsp: await freePort(), crl: await freePort() };
  const env = childEnv({
    SM2CA_HOME: home,
    SM2CA_PG_PORT: String(await freePort()),
    SM2CA_RA_PORT: String(await freePort()),
    SM2CA_CA_PORT: String(await freePort()),
    SM2CA_KM_PORT: String(await freePort()),
    SM2CA_OCSP_PORT: String(port.ocsp),
    SM2CA_OCSP_HOST: '127.0.0.1',
    SM2CA_CRL_PORT: String(port.crl),
    SM2CA_CRL_HOST: '127.0.0.1',
    SM2CA_OCSP_URL: `http://127.0.0.1:${port.ocsp}/ocsp`,
    SM2CA_CRL_URL: `http://127.0.0.1:${port.crl}`,
    SM2CA_LDAP_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  });
  delete env.DATABASE_URL;
  const ocspUrl = `http://127.0.0.1:${port.ocsp}/ocsp`;
  const fresh = await timeToFirstAnswer(env, ocspUrl);
  const present = await timeToFirstAnswer(env, ocspUrl);
  for (const [name, times] of [
    ['fresh home', fresh],
    ['data present', present],
  ] as const) {
    console.log(`${name}:\n${times.phases.join('\n')}`);
  }
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cores`,
  );
  console.log(`first OCSP answer, fresh home:   ${fresh.answer.toFixed(2)} s (goal <= 5 s)`);
  console.log(`first OCSP answer, data present: ${present.answer.toFixed(2)} s (goal <= 3 s)`);
} finally {
  rmSync(home, { recursive: true, force: true });
}
