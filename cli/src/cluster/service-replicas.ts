import type { ServiceName } from '@sm2ca/platform';
import { serviceArgs } from '../service-command.ts';
import { ManagedProcess } from './managed-process.ts';

export interface ServiceReplica {
  service: ServiceName;
  port: number;
  process: ManagedProcess;
}

/**
 * One process of the service on each of `ports`, as a Deployment's pods are: they
 * share the database, the configuration and the crypto device (the hsm-sim token under
 * SM2CA_HOME, as `npm start` shares it), and are started again when they die.
 */
export function startReplicas(
  service: ServiceName,
  ports: number[],
  env: NodeJS.ProcessEnv,
): ServiceReplica[] {
  const replicas: ServiceReplica[] = [];
  for (const [i, port] of ports.entries()) {
    const process_ = new ManagedProcess({
      name: `${service}${i}`,
      command: process.execPath,
      args: serviceArgs(service),
      env: {
        ...env,
        [`SM2CA_${service.toUpperCase()}_HOST`]: '127.0.0.1',
        [`SM2CA_${service.toUpperCase()}_PORT`]: String(port),
      },
    });
    process_.start();
    replicas.push({ service, port, process: process_ });
  }
  return replicas;
}

export async function waitReady(url: string, timeoutMs: number, explain: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs / 1000} s:\n${explain()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
