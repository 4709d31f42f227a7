import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ServiceName } from '@sm2ca/platform';
import pg from 'pg';
import { childEnv } from './child-env.ts';
import { type EtcdCluster, startEtcd } from './etcd-cluster.ts';
import { freePort } from './free-port.ts';
import { haproxyConfig, startHaproxy } from './haproxy.ts';
import type { ManagedProcess } from './managed-process.ts';
import { type PatroniCluster, pgBin, startPatroni } from './patroni-cluster.ts';
import { type ServiceReplica, startReplicas, waitReady } from './service-replicas.ts';

/** Replicas per service: two of each, so any one may die; the monitor measures, so one is enough. */
const replicaCount: Record<ServiceName, number> = { ca: 2, km: 2, ra: 2, ocsp: 2, crl: 2, monitor: 1 };
const order: ServiceName[] = ['ca', 'km', 'ra', 'ocsp', 'crl', 'monitor'];
/**
 * What the front doors replay on another replica: the read-only services, and the CA and KM,
 * whose every request carries a signed request id answered the same way however often it comes
 * (their request ledgers). The RA's callers get no such promise.
 */
const replaySafe: Record<ServiceName, boolean> = {
  ca: true,
  km: true,
  ra: false,
  ocsp: true,
  crl: true,
  monitor: true,
};

/** Whether the Debian packages the stack runs on (.ci/run installs them) are here. */
export function haStackInstalled(): boolean {
  return ['/usr/bin/etcd', '/usr/bin/patroni', '/usr/sbin/haproxy', `${pgBin}/postgres`].every((f) =>
    existsSync(f),
  );
}

/** The super admin `sm2ca init` makes for the stack; its credential is printed once. */
export const clusterSuperAdmin = 'cluster-admin';

export interface HaStack {
  /** What the services were started with: the front doors, the database, the home. */
  env: NodeJS.ProcessEnv;
  /** Each service's HAProxy front door. */
  url: Record<ServiceName, string>;
  superAdmin: string | undefined;
  /** HAProxy's and every replica's recent output, for explaining a failure. */
  output(): string;
  stop(): Promise<void>;
  etcd: EtcdCluster;
  patroni: PatroniCluster;
  haproxy: ManagedProcess;
  replicas: ServiceReplica[];
  /** Through HAProxy to the current primary, as the superuser: for the tests' own checks. */
  adminDatabaseUrl: string;
}

/**
 * The whole HA layout on loopback: 3 etcd, 3 PostgreSQL under Patroni (synchronous), HAProxy
 * in front of PostgreSQL and of two replicas of every service, the CA made by `sm2ca init`
 * through HAProxy. Everything lives under one temporary directory and on free ports;
 * stop() ends every process and removes the directory.
 */
export async function startHaStack(extraEnv: NodeJS.ProcessEnv = {}): Promise<HaStack> {
  const dir = mkdtempSync(join(tmpdir(), 'sm2ca-ha-'));
  // The PostgreSQL members run as `postgres` and must reach their directories under it.
  chmodSync(dir, 0o755);
  const home = join(dir, 'home');
  mkdirSync(home);
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const part of started.reverse()) await part.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const etcd = await startEtcd(join(dir, 'etcd'));
    started.push(etcd);
    await etcd.ready();
    const patroniDir = join(dir, 'patroni');
    mkdirSync(patroniDir, { mode: 0o755 });
    chmodSync(patroniDir, 0o755);
    const patroni = await startPatroni(patroniDir, etcd.clientHosts);
    started.push(patroni);

    const front = { postgres: await freePort() } as Record<ServiceName | 'postgres', number>;
    const replicaPorts = {} as Record<ServiceName, number[]>;
    for (const s of order) {
      front[s] = await freePort();
      replicaPorts[s] = [];
      for (let i = 0; i < replicaCount[s]; i++) replicaPorts[s].push(await freePort());
    }
    const haproxy = startHaproxy(
      dir,
      haproxyConfig(
        order.map((s) => ({ name: s, port: front[s], servers: replicaPorts[s], replaySafe: replaySafe[s] })),
        { port: front.postgres, members: patroni.members },
      ),
    );
    started.push(haproxy);
    await patroni.ready();

    const admin = `postgres://postgres:${patroni.superuserPassword}@127.0.0.1:${front.postgres}`;
    await createDatabase(`${admin}/postgres`, 'sm2ca', haproxy);
    const local = (port: number) => `http://127.0.0.1:${port}`;
    const env = childEnv({
      DATABASE_URL: `${admin}/sm2ca`,
      SM2CA_HOME: home,
      SM2CA_RA_PORT: String(front.ra),
      SM2CA_CA_PORT: String(front.ca),
      SM2CA_KM_PORT: String(front.km),
      SM2CA_OCSP_PORT: String(front.ocsp),
      SM2CA_CRL_PORT: String(front.crl),
      SM2CA_OCSP_URL: `${local(front.ocsp)}/ocsp`,
      SM2CA_CRL_URL: local(front.crl),
      // Patroni replaces a lost primary within ~10 s: requests wait that out rather than fail.
      SM2CA_DB_OUTAGE_WAIT_SECONDS: '20',
      LOG_LEVEL: 'warn',
      ...extraEnv,
    });
    const init = await runCli(
      ['init', '--super-admin', clusterSuperAdmin, '--super-admin-identity', `${clusterSuperAdmin}-0001`],
      env,
    );
    if (init.code !== 0) throw new Error(`sm2ca init failed:\n${init.stdout}\n${init.stderr}`);
    const superAdmin = /super admin credential \(shown once\): (sm2op_\S+)/.exec(init.stdout)?.[1];

    const replicas: ServiceReplica[] = [];
    started.push({
      stop: async () => {
        await Promise.all(replicas.map((r) => r.process.stop()));
      },
    });
    // All at once: each waits for nothing but the database, and a loaded machine starts ten
    // processes together faster than one after the other.
    for (const s of order) replicas.push(...startReplicas(s, replicaPorts[s], env));
    await Promise.all(
      replicas.map((r) => waitReady(`${local(r.port)}/health/ready`, 180_000, () => r.process.output())),
    );
    for (const s of order) await waitReady(`${local(front[s])}/health/ready`, 30_000, () => haproxy.output());
    return {
      env,
      url: {
        ra: local(front.ra),
        ca: local(front.ca),
        km: local(front.km),
        ocsp: local(front.ocsp),
        crl: local(front.crl),
        monitor: local(front.monitor),
      },
      superAdmin,
      output: () =>
        [haproxy, ...replicas.map((r) => r.process)]
          .map((p) => `--- ${p.spec.name}\n${p.output()}`)
          .join('\n'),
      etcd,
      patroni,
      haproxy,
      replicas,
      adminDatabaseUrl: `${admin}/sm2ca`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

const bin = new URL('../../bin/sm2ca.js', import.meta.url).pathname;

/** This CLI in a child process, as an operator would run it against the stack. */
async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The service database, made once the primary behind HAProxy takes connections. */
async function createDatabase(url: string, name: string, haproxy: ManagedProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`cannot create ${name}: ${(err as Error).message}\n${haproxy.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await client.end().catch(() => {});
    }
  }
}
