import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { ManagedProcess } from './managed-process.ts';

export const pgBin = '/usr/lib/postgresql/15/bin';
/** PostgreSQL refuses to run as root; CI runs as root, so the members run as `postgres`. */
const pgUser = 'postgres';

export interface PatroniMember {
  name: string;
  pgPort: number;
  restPort: number;
  dataDir: string;
  patroni: ManagedProcess;
}

export interface PatroniCluster {
  members: PatroniMember[];
  superuserPassword: string;
  /** The member whose REST API answers 200 on /primary, if any does now. */
  primary(): Promise<PatroniMember | undefined>;
  /** Resolves once one member is primary and `syncStandbys` others replicate synchronously. */
  ready(timeoutMs?: number): Promise<PatroniMember>;
  /** SIGKILL to the primary's postmaster, read from its postmaster.pid. */
  killPostmaster(member: PatroniMember): number;
  stop(): Promise<void>;
}

const runningAsRoot = () => process.getuid?.() === 0;

function ownedByPostgres(path: string): void {
  if (!runningAsRoot()) return;
  const uid = Number(execFileSync('id', ['-u', pgUser]).toString());
  const gid = Number(execFileSync('id', ['-g', pgUser]).toString());
  chownSync(path, uid, gid);
}

/**
 * Three PostgreSQL 15 members under Patroni 3 with synchronous replication: a commit returns to
 * the client only once a synchronous standby has flushed it, and Patroni promotes only a member
 * it knows was synchronous, so a committed issuance survives losing the primary. Strict mode
 * keeps that true even when no standby is left (writes wait instead of going asynchronous).
 */
export async function startPatroni(dir: string, etcdHosts: string[], size = 3): Promise<PatroniCluster> {
  const superuserPassword = 'sm2ca-ha-superuser';
  const members: PatroniMember[] = [];
  for (let i = 0; i < size; i++) {
    const name = `pg${i}`;
    const home = join(dir, name);
    mkdirSync(home, { recursive: true });
    chmodSync(home, 0o700);
    ownedByPostgres(home);
    const pgPort = await freePort();
    const restPort = await freePort();
    const dataDir = join(home, 'data');
    const config = {
      scope: 'sm2ca',
      name,
      log: { level: 'WARNING' },
      restapi: { listen: `127.0.0.1:${restPort}`, connect_address: `127.0.0.1:${restPort}` },
      etcd3: { hosts: etcdHosts },
      bootstrap: {
        dcs: {
          // A crashed postmaster is failed over at once (below), whatever the TTL; the TTL and the
          // retry timeout only need to outlast an etcd member restarting on a loaded machine, or
          // the primary demotes itself for want of its leader key.
          ttl: 20,
          loop_wait: 2,
          retry_timeout: 8,
          // A crashed primary's PostgreSQL is not restarted in place: the synchronous standby takes over.
          primary_start_timeout: 0,
          synchronous_mode: true,
          synchronous_mode_strict: true,
          synchronous_node_count: 1,
          postgresql: {
            use_pg_rewind: true,
            parameters: {
              max_connections: 200,
              wal_log_hints: 'on',
              synchronous_commit: 'on',
              max_wal_senders: 10,
              max_replication_slots: 10,
              shared_buffers: '32MB',
            },
          },
        },
        initdb: [{ encoding: 'UTF8' }, { locale: 'C' }, 'data-checksums'],
      },
      postgresql: {
        listen: `127.0.0.1:${pgPort}`,
        connect_address: `127.0.0.1:${pgPort}`,
        data_dir: dataDir,
        bin_dir: pgBin,
        pgpass: join(home, 'pgpass'),
        authentication: {
          superuser: { username: 'postgres', password: superuserPassword },
          replication: { username: 'replicator', password: 'sm2ca-ha-replicator' },
          rewind: { username: 'postgres', password: superuserPassword },
        },
        pg_hba: [
          'local all all trust',
          'host replication replicator 127.0.0.1/32 scram-sha-256',
          'host all all 127.0.0.1/32 scram-sha-256',
        ],
        parameters: { unix_socket_directories: home },
      },
    };
    const file = join(home, 'patroni.yml');
    // JSON is YAML.
    writeFileSync(file, JSON.stringify(config, null, 2));
    ownedByPostgres(file);
    const patroni = new ManagedProcess({ name, command: 'patroni', args: [file], user: pgUser, cwd: home });
    members.push({ name, pgPort, restPort, dataDir, patroni });
  }
  // One at a time: the first bootstraps the cluster, the others clone it.
  for (const m of members) m.patroni.start();

  const role = async (m: PatroniMember) =>
    fetch(`http://127.0.0.1:${m.restPort}/patroni`, { signal: AbortSignal.timeout(2_000) })
      .then((r) =>
        r.ok ? (r.json() as Promise<{ role: string; state: string; sync_standby?: boolean }>) : undefined,
      )
      .catch(() => undefined);
  const primary = async () => {
    for (const m of members) {
      const ok = await fetch(`http://127.0.0.1:${m.restPort}/primary`, { signal: AbortSignal.timeout(2_000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return m;
    }
    return undefined;
  };
  return {
    members,
    superuserPassword,
    primary,
    async ready(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const leader = await primary();
        if (leader) {
          const states = await Promise.all(members.filter((m) => m !== leader).map(role));
          const streaming = states.filter((s) => s?.state === 'running');
          if (streaming.length === members.length - 1 && states.some((s) => s?.sync_standby)) return leader;
        }
        if (Date.now() > deadline) {
          throw new Error(
            `Patroni cluster not ready after ${timeoutMs / 1000} s:\n${members.map((m) => `${m.name}: ${m.patroni.output()}`).join('\n')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    killPostmaster(member) {
      const pid = Number(readFileSync(join(member.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      return pid;
    },
    async stop() {
      await Promise.all(members.map((m) => m.patroni.stop(20_000)));
      // Patroni starts PostgreSQL in a session of its own, so that it outlives a Patroni restart.
      for (const m of members) {
        try {
          process.kill(
            Number(readFileSync(join(m.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]),
            'SIGKILL',
          );
        } catch {
          // Stopped with its Patroni, or never started.
        }
      }
    },
  };
}
