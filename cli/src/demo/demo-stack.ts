import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '@sm2ca/platform';
import { freePort } from '../cluster/free-port.ts';

/** Debian's libfaketime (package libfaketime). */
export const libfaketime = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const bin = new URL('../../bin/sm2ca.js', import.meta.url).pathname;

export interface DemoStack {
  url: { ra: string; crl: string };
  /** Environment that points `sm2ca` commands at this stack. */
  env: NodeJS.ProcessEnv;
  superAdmin: string;
  /** Moves every process of the stack, PostgreSQL included, to `at`; the clock runs on from there. */
  setClock(at: Date): void;
  stop(): Promise<void>;
}

/**
 * How far this process's clock is ahead of the machine's. Run under libfaketime itself (a suite
 * moved to 2049), our Date.now() is not the clock the stack's offset is added to: the stack's
 * processes get their own libfaketime settings and so start from the machine's clock.
 */
function ownClockSkewMs(): number {
  if (!process.env.LD_PRELOAD?.includes('faketime')) return 0;
  const unfaked = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== 'LD_PRELOAD' && !name.startsWith('FAKETIME')),
  );
  const machine = Number(execFileSync('date', ['+%s%3N'], { env: unfaked, encoding: 'utf8' }).trim());
  return Date.now() - machine;
}

/**
 * A scratch stack (`sm2ca start` on its own embedded PostgreSQL) whose every process runs
 * under libfaketime reading one offset file. The services take "now" from the system clock
 * and the database's now(), and no service has an injectable clock, so moving the whole
 * stack's clock is the one way to make a year of activity carry a year of dates. The offset
 * form (+N seconds) keeps all processes on one time whenever each started; monotonic clocks
 * stay real so timers and timeouts behave.
 */
export async function startDemoStack(home: string, start: Date): Promise<DemoStack> {
  if (!existsSync(libfaketime)) {
    throw new AppError('DEMO_FAKETIME_MISSING', `${libfaketime} is missing: apt-get install libfaketime`);
  }
  const clockFile = join(home, 'demo-clock');
  const skew = ownClockSkewMs();
  const setClock = (at: Date) => {
    const offset = Math.round((at.getTime() - Date.now() + skew) / 1000);
    writeFileSync(clockFile, `${offset >= 0 ? '+' : ''}${offset}\n`);
  };
  setClock(start);
  const port = {
    ra: await freePort(),
    ca: await freePort(),
    km: await freePort(),
    ocsp: await freePort(),
    crl: await freePort(),
    pg: await freePort(),
    ldap: await freePort(),
  };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SM2CA_HOME: home,
    SM2CA_PG_PORT: String(port.pg),
    SM2CA_RA_PORT: String(port.ra),
    SM2CA_RA_HOST: '127.0.0.1',
    SM2CA_CA_PORT: String(port.ca),
    SM2CA_KM_PORT: String(port.km),
    SM2CA_OCSP_PORT: String(port.ocsp),
    SM2CA_OCSP_HOST: '127.0.0.1',
    SM2CA_CRL_PORT: String(port.crl),
    SM2CA_CRL_HOST: '127.0.0.1',
    SM2CA_OCSP_URL: `http://127.0.0.1:${port.ocsp}/ocsp`,
    SM2CA_CRL_URL: `http://127.0.0.1:${port.crl}`,
    SM2CA_LDAP_PORT: String(port.ldap),
    // A daily full CRL, due 23 h after the last; the publisher looks every second, so the clock's
    // jumps are noticed at once.
    SM2CA_CRL_INTERVAL_MINUTES: '1440',
    SM2CA_CRL_DELTA_INTERVAL_MINUTES: '1440',
    SM2CA_CRL_SCHEDULE_CHECK_SECONDS: '1',
    SM2CA_CRL_DEBOUNCE_SECONDS: '0',
    LOG_LEVEL: 'warn',
  };
  const faked = {
    ...env,
    LD_PRELOAD: libfaketime,
    FAKETIME_TIMESTAMP_FILE: clockFile,
    FAKETIME_NO_CACHE: '1',
    DONT_FAKE_MONOTONIC: '1',
  };
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, 'start', '--super-admin', 'demo-admin', '--super-admin-identity', 'demo-admin-0001'],
    { env: faked, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo stack not up after 300 s:\n${output}`)), 300_000);
    const take = (data: Buffer) => {
      output += data;
      if (output.includes('all services are up')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new AppError('DEMO_STACK_FAILED', `sm2ca start exited with ${code}:\n${output}`, 500));
    });
  });
  const superAdmin = /super admin credential \(shown once\): (sm2op_\S+)/.exec(output)?.[1];
  if (!superAdmin) {
    child.kill('SIGINT');
    await exited;
    throw new AppError('DEMO_HOME_NOT_EMPTY', `${home} held a stack already: give an empty --home`);
  }
  return {
    url: { ra: `http://127.0.0.1:${port.ra}`, crl: `http://127.0.0.1:${port.crl}` },
    env,
    superAdmin,
    setClock,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}
