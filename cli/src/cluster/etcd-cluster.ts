import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { ManagedProcess } from './managed-process.ts';

export interface EtcdCluster {
  members: ManagedProcess[];
  /** host:port of every member's client address, for Patroni. */
  clientHosts: string[];
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Three etcd members on loopback: restarting one leaves a quorum of two, so Patroni never loses
 * its leader key to a single etcd restart (with one member it would demote the primary).
 */
export async function startEtcd(dir: string, size = 3): Promise<EtcdCluster> {
  const members = [];
  for (let i = 0; i < size; i++)
    members.push({ name: `etcd${i}`, client: await freePort(), peer: await freePort() });
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const processes = members.map((m) => {
    const data = join(dir, m.name);
    mkdirSync(data, { recursive: true });
    const process = new ManagedProcess({
      name: m.name,
      command: 'etcd',
      args: [
        '--name',
        m.name,
        '--data-dir',
        data,
        '--listen-client-urls',
        `http://127.0.0.1:${m.client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${m.client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${m.peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${m.peer}`,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        'sm2ca-ha',
        // Loopback: elections may be quick.
        '--heartbeat-interval',
        '100',
        '--election-timeout',
        '1000',
        '--log-level',
        'warn',
      ],
    });
    process.start();
    return process;
  });
  const clientHosts = members.map((m) => `127.0.0.1:${m.client}`);
  return {
    members: processes,
    clientHosts,
    async ready() {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const healthy = await Promise.all(
          clientHosts.map((h) =>
            fetch(`http://${h}/health`)
              .then(async (r) => r.ok && ((await r.json()) as { health: string }).health === 'true')
              .catch(() => false),
          ),
        );
        if (healthy.every(Boolean)) return;
        if (Date.now() > deadline) {
          throw new Error(`etcd not healthy after 60 s:\n${processes.map((p) => p.output()).join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      await Promise.all(processes.map((p) => p.stop()));
    },
  };
}
