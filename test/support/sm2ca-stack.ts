import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { childEnv } from './child-env.ts';
import { freePort } from './free-port.ts';

const bin = new URL('../../cli/bin/sm2ca.js', import.meta.url).pathname;

export interface Stack {
  env: NodeJS.ProcessEnv;
  url: { ra: string; ca: string; km: string; ocsp: string; crl: string; monitor: string };
  /**
   * The credential of the first super admin (`stack-admin`) that `sm2ca start --super-admin` made;
   * undefined when the database had a super admin already.
   */
  superAdmin: string | undefined;
  /** Runs `sm2ca ARGS` against the same configuration, with `extraEnv` added. */
  cli(
    args: string[],
    extraEnv?: NodeJS.ProcessEnv,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Everything the supervisor printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** The name of the first super admin a stack's key ceremony makes. */
export const stackSuperAdmin = 'stack-admin';

/**
 * Runs the `sm2ca` binary with exactly `env`: its exit code and output, whatever the code.
 * With `timeoutMs` a command still running then is killed (its code is then null).
 */
export async function sm2caCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 0,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      env,
      timeout: timeoutMs,
      killSignal: 'SIGINT',
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * The product as an operator runs it: `sm2ca start` (init on first use, each
 * service its own process) against the given database, on free ports. Without
 * a database URL it starts its embedded PostgreSQL (give it SM2CA_PG_PORT).
 */
export async function startStack(
  databaseUrl: string | undefined,
  extraEnv: NodeJS.ProcessEnv = {},
  only?: string[],
): Promise<Stack> {
  const port = {
    ra: await freePort(),
    ca: await freePort(),
    km: await freePort(),
    ocsp: await freePort(),
    crl: await freePort(),
    monitor: await freePort(),
  };
  const home = mkdtempSync(join(tmpdir(), 'sm2ca-stack-'));
  const env: NodeJS.ProcessEnv = childEnv({
    DATABASE_URL: databaseUrl,
    SM2CA_HOME: home,
    SM2CA_RA_PORT: String(port.ra),
    SM2CA_RA_HOST: '127.0.0.1',
    SM2CA_CA_PORT: String(port.ca),
    SM2CA_KM_PORT: String(port.km),
    SM2CA_OCSP_PORT: String(port.ocsp),
    SM2CA_OCSP_HOST: '127.0.0.1',
    SM2CA_CRL_PORT: String(port.crl),
    SM2CA_CRL_HOST: '127.0.0.1',
    SM2CA_MONITOR_PORT: String(port.monitor),
    SM2CA_OCSP_URL: `http://127.0.0.1:${port.ocsp}/ocsp`,
    SM2CA_CRL_URL: `http://127.0.0.1:${port.crl}`,
    // `sm2ca start` runs a local slapd where one is installed: each stack on a port of its own.
    SM2CA_LDAP_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    ...extraEnv,
  });
  const args = [
    'start',
    '--super-admin',
    stackSuperAdmin,
    '--super-admin-identity',
    `${stackSuperAdmin}-0001`,
    ...(only ? ['--only', only.join(',')] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, [bin, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    // A loaded machine (CI beside other jobs) may take long; a stack that never comes up is stopped,
    // not left running after the test gave up on it.
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`stack not up after 150 s:\n${output}`));
    }, 150_000);
    const check = () => {
      if (output.includes('all services are up')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sm2ca start exited with ${code}:\n${output}`));
    });
  });
  const local = (p: number) => `http://127.0.0.1:${p}`;
  return {
    env,
    url: {
      ra: local(port.ra),
      ca: local(port.ca),
      km: local(port.km),
      ocsp: local(port.ocsp),
      crl: local(port.crl),
      monitor: local(port.monitor),
    },
    superAdmin: /super admin credential \(shown once\): (sm2op_\S+)/.exec(output)?.[1],
    cli: (args, extraEnv = {}) => sm2caCli(args, { ...env, ...extraEnv }),
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
      await rm(home, { recursive: true, force: true });
    },
  };
}
