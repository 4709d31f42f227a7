import { AppError } from '@sm2ca/platform';
import type { Command } from 'commander';
import { haStackInstalled, startHaStack } from '../cluster/ha-stack.ts';
import { progress } from '../output.ts';

/** The stack decides where each service listens, finds its database and keeps its home. */
function operatorSettings(): NodeJS.ProcessEnv {
  const settings: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    const placed = name === 'SM2CA_HOME' || /_(PORT|HOST|URL)$/.test(name);
    if ((name.startsWith('SM2CA_') && !placed) || name === 'LOG_LEVEL') settings[name] = value;
  }
  return settings;
}

/**
 * The local HA stack of deploy/cluster/README.md: 3 etcd, 3 PostgreSQL under Patroni with
 * synchronous replication, HAProxy in front of PostgreSQL and of two replicas of each service.
 * Everything under one temporary directory on loopback; Ctrl-C stops and removes it all.
 */
export function registerClusterCommands(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('the local HA stack (etcd, Patroni, HAProxy, service replicas) from Debian packages');

  cluster
    .command('start')
    .description(
      'start the HA stack on loopback until Ctrl-C; prints the front doors and the super admin credential',
    )
    .action(async () => {
      if (!haStackInstalled()) {
        throw new AppError(
          'CLUSTER_PACKAGES_MISSING',
          'the HA stack runs on Debian packages: apt-get install etcd-server patroni haproxy postgresql',
        );
      }
      const started = Date.now();
      progress('starting etcd, Patroni (3 PostgreSQL members), HAProxy and the service replicas');
      const stack = await startHaStack(operatorSettings());
      const primary = await stack.patroni.primary();
      progress(`HA stack up in ${Math.round((Date.now() - started) / 1000)} s`);
      for (const [service, url] of Object.entries(stack.url)) console.log(`${service.padEnd(8)} ${url}`);
      console.log(`database ${stack.adminDatabaseUrl} (primary now: ${primary?.name})`);
      console.log(`super admin credential (shown once): ${stack.superAdmin}`);
      console.log('Ctrl-C stops everything and removes its directory');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      progress('stopping the HA stack');
      await stack.stop();
    });
}
