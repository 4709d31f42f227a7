import { ControlConnection } from './control-connection.ts';
import type { Logger } from './logger.ts';

export interface LeaderJobOptions {
  /** The database URL, for the leader's own connection outside the pool. */
  url: string;
  /** How the connection shows in pg_stat_activity. */
  applicationName: string;
  /** The advisory lock whose holder leads. */
  lock: string;
  /** NOTIFY channels that ask for a run. */
  channels: readonly string[];
  /** Between the runs that come anyway (work a NOTIFY missed, work fallen due). */
  everyMs: number;
  retryMs?: number;
  log: Logger;
  /** Which notifications ask for a run: every one unless said. */
  wakesOn?(channel: string, payload: string): boolean;
  work(): Promise<void>;
  /** Logged with the error when the work fails; it runs again at the next wake-up. */
  failure: string;
}

/**
 * Background work done by one replica at a time (a PostgreSQL advisory lock on its own
 * connection): it runs when the replica is elected, on a NOTIFY, every `everyMs` and whenever
 * `run()` asks; one run at a time, any number asked for meanwhile making one more.
 */
export class LeaderJob {
  readonly #options: LeaderJobOptions;
  readonly #election: ControlConnection;
  #timer: NodeJS.Timeout | undefined;
  #queued = false;
  #stopped = false;
  #runs: Promise<void> = Promise.resolve();

  constructor(options: LeaderJobOptions) {
    this.#options = options;
    this.#election = new ControlConnection({
      url: options.url,
      applicationName: options.applicationName,
      lock: options.lock,
      channels: options.channels,
      retryMs: options.retryMs ?? 3_000,
      log: options.log,
      onElected: () => this.run(),
      onNotification: (channel, payload) => {
        if (options.wakesOn?.(channel, payload) ?? true) this.run();
      },
    });
  }

  get leader(): boolean {
    return this.#election.leader;
  }

  /** True while this replica leads and is not stopping: long work checks it between steps. */
  get active(): boolean {
    return this.leader && !this.#stopped;
  }

  /** Resolves once the first connection attempt is over; an elected replica runs at once. */
  start(): Promise<void> {
    this.#timer = setInterval(() => this.run(), this.#options.everyMs);
    this.#timer.unref();
    return this.#election.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#election.stop();
    await this.#runs;
  }

  run(): void {
    if (this.#queued || this.#stopped) return;
    this.#queued = true;
    this.#runs = this.#runs.then(async () => {
      this.#queued = false;
      if (!this.leader) return;
      try {
        await this.#options.work();
      } catch (err) {
        this.#options.log.error({ err }, this.#options.failure);
      }
    });
  }
}
