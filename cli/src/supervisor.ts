import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Config, cannotListenExitCode, type ServiceName } from '@sm2ca/platform';
import type { EmbeddedPostgresHandle } from '@sm2ca/store';
import { progress } from './output.ts';
import { serviceArgs } from './service-command.ts';

const servicesRoot = new URL('../../services/', import.meta.url).pathname;

/** More deaths of the embedded PostgreSQL than this within the window, and `sm2ca start` gives up. */
const databaseRestartLimit = 5;
const databaseRestartWindowMs = 10 * 60_000;

const startOrder: ServiceName[] = ['ca', 'km', 'ra', 'ocsp', 'crl', 'monitor'];

/**
 * What must be ready before a service starts: the CA before the RA that instructs it; the monitor
 * once there is something to probe, so a start is not measured as an outage. Starting a service
 * is CPU-bound: the OCSP responder, which relying parties wait on, and the CA start first with the
 * cores to themselves, the KM and CRL services once the responder answers.
 */
const startsAfter: Partial<Record<ServiceName, ServiceName[]>> = {
  km: ['ocsp'],
  crl: ['ocsp'],
  ra: ['ca'],
  monitor: ['ra', 'ocsp', 'crl'],
};

export function installedServices(): ServiceName[] {
  return startOrder.filter((name) => existsSync(`${servicesRoot}${name}/src/main.ts`));
}

/** Resolves when the child says it listens: only then can a probe of its address reach it and not another process. */
function listening(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`not listening after ${timeoutMs / 1000} s`)), timeoutMs);
    const onMessage = (message: unknown) => {
      if (message === 'listening') done();
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`exited with ${signal ?? `code ${code}`} during start`));
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await listening(child, timeoutMs);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} during start`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready after ${timeoutMs / 1000} s (${url})`);
}

/**
 * Runs each service as its own process, as in production, and keeps them up:
 * a service that dies is started again with growing back-off, unless it cannot
 * listen on its address (a restart would fail the same way): then `failed`
 * resolves with the reason. stop() ends them all with SIGTERM (SIGKILL after 10 s).
 * It also keeps the embedded PostgreSQL up (see watchDatabase).
 */
export class Supervisor {
  readonly #children = new Map<ServiceName, ChildProcess>();
  #stopping = false;
  #databaseTimer: NodeJS.Timeout | undefined;
  #databaseRestart: Promise<void> | undefined;
  #fail: (err: Error) => void = () => {};
  readonly failed = new Promise<Error>((resolve) => {
    this.#fail = resolve;
  });

  constructor(
    private readonly config: Config,
    private readonly env: NodeJS.ProcessEnv,
    /** What differs per service, such as the DATABASE_URL of its own role. */
    private readonly serviceEnv: Partial<Record<ServiceName, NodeJS.ProcessEnv>> = {},
  ) {}

  /** Starts the services together, each as soon as those it starts after are ready. */
  async start(names: ServiceName[]): Promise<void> {
    const ready = new Map<ServiceName, Promise<void>>();
    // Whatever the order of `names`, a service waits for those it starts after that are started too.
    const started = (name: ServiceName): Promise<void> => {
      let promise = ready.get(name);
      if (!promise) {
        promise = startOne(name);
        ready.set(name, promise);
      }
      return promise;
    };
    const startOne = async (name: ServiceName): Promise<void> => {
      await Promise.all((startsAfter[name] ?? []).filter((first) => names.includes(first)).map(started));
      const child = this.#spawn(name, 0);
      const { host, port } = this.config.services[name];
      const probeHost = host === '0.0.0.0' ? '127.0.0.1' : host;
      // Several start at once on what may be a small, busy machine: give each the time the slowest needs.
      await waitReady(`http://${probeHost}:${port}/health/ready`, child, 120_000).catch((err: Error) => {
        throw new Error(`service ${name}: ${err.message}`);
      });
      progress(`${name} ready on http://${probeHost}:${port} (API description: /docs)`);
    };
    const outcomes = await Promise.allSettled(names.map(started));
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) throw failure.reason;
  }

  #spawn(name: ServiceName, restarts: number): ChildProcess {
    const child = spawn(process.execPath, serviceArgs(name), {
      env: { ...this.env, ...this.serviceEnv[name] },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#children.set(name, child);
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      if (this.#stopping) return;
      if (code === cannotListenExitCode) {
        this.#fail(new Error(`service ${name} cannot listen on its address; not restarting it`));
        return;
      }
      // A service that stayed up a minute has recovered; count its next crash from zero.
      const attempt = Date.now() - startedAt > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5));
      progress(`${name} stopped (${signal ?? `code ${code}`}); starting it again in ${delay / 1000} s`);
      setTimeout(() => {
        if (!this.#stopping) this.#spawn(name, attempt);
      }, delay).unref();
    });
    return child;
  }

  /**
   * Starts the embedded PostgreSQL again, with growing back-off, whenever its postmaster dies;
   * the services keep running, waiting for it and reconnecting by themselves. More than
   * `databaseRestartLimit` deaths within the window resolve `failed` instead.
   */
  watchDatabase(embedded: EmbeddedPostgresHandle): void {
    const restarts: number[] = [];
    const check = async () => {
      if (this.#stopping || embedded.alive()) return;
      const pid = embedded.pid;
      const now = Date.now();
      while (restarts.length > 0 && restarts[0]! < now - databaseRestartWindowMs) restarts.shift();
      if (restarts.length >= databaseRestartLimit) {
        this.#fail(
          new Error(
            `embedded PostgreSQL stopped ${databaseRestartLimit + 1} times within ` +
              `${databaseRestartWindowMs / 60_000} min; not restarting it`,
          ),
        );
        return;
      }
      restarts.push(now);
      const attempt = `restart ${restarts.length} of at most ${databaseRestartLimit} in ${databaseRestartWindowMs / 60_000} min`;
      // Until the backends orphaned by a killed postmaster have gone, PostgreSQL refuses to start.
      await new Promise((r) => setTimeout(r, 1000 * 2 ** (restarts.length - 1)).unref());
      if (this.#stopping) return;
      try {
        this.#databaseRestart = embedded.restart();
        await this.#databaseRestart;
        progress(
          `embedded PostgreSQL (pid ${pid}) had stopped; started it again (pid ${embedded.pid}), ${attempt}`,
        );
      } catch (err) {
        progress(
          `embedded PostgreSQL (pid ${pid}) had stopped; ${attempt} failed: ${(err as Error).message}`,
        );
      }
    };
    const schedule = () => {
      if (this.#stopping) return;
      this.#databaseTimer = setTimeout(() => void check().finally(schedule), 1000);
    };
    schedule();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#databaseTimer);
    // A restart under way finishes first, so the database it starts is the one stopped after the services.
    await this.#databaseRestart?.catch(() => {});
    const exits = [...this.#children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
  }
}
