import { type Config, ControlConnection, type Logger } from '@sm2ca/platform';
import { archiveEscrows, expireEscrows } from './escrow-expiry.ts';
import type { KmContext } from './km-context.ts';
import { fillPool, poolChannel } from './pool-filler.ts';

const LEADER_LOCK = 'sm2ca:km-pool';
/** Expiry needs no more than this; it also catches a wake-up lost with a connection. */
const CHECK_MS = 60_000;

export interface KmLeaderOptions {
  km: KmContext;
  /** The database URL, for the leader's own connection outside the pool. */
  url: string;
  config: Config;
  log: Logger;
  leaderRetryMs?: number;
}

/**
 * The KM's background work, done by one replica at a time (a PostgreSQL advisory lock on its
 * own connection): the pool filler, woken by a take that left the pool low wherever that take
 * happened, and the expiry of escrows whose certificates have ended. Both also run when the
 * replica is elected and every minute.
 */
export class KmLeader {
  readonly #options: KmLeaderOptions;
  readonly #election: ControlConnection;
  #timer: NodeJS.Timeout | undefined;
  #queued = false;
  #stopped = false;
  #runs: Promise<void> = Promise.resolve();

  constructor(options: KmLeaderOptions) {
    this.#options = options;
    this.#election = new ControlConnection({
      url: options.url,
      applicationName: 'sm2ca-km-pool',
      lock: LEADER_LOCK,
      channels: [poolChannel],
      retryMs: options.leaderRetryMs ?? 3_000,
      log: options.log,
      onElected: () => this.#run(),
      onNotification: () => this.#run(),
    });
  }

  get leader(): boolean {
    return this.#election.leader;
  }

  /** Resolves once the first connection attempt is over; the elected replica fills at once. */
  start(): Promise<void> {
    this.#timer = setInterval(() => this.#run(), CHECK_MS);
    this.#timer.unref();
    return this.#election.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#election.stop();
    await this.#runs;
  }

  /** One run at a time; any number asked for meanwhile make one more. */
  #run(): void {
    if (this.#queued) return;
    this.#queued = true;
    this.#runs = this.#runs.then(async () => {
      this.#queued = false;
      if (!this.leader) return;
      const { km, config, log } = this.#options;
      try {
        const expired = await expireEscrows(km);
        if (expired > 0) log.info({ expired }, 'escrows of expired certificates marked expired');
        const archived = await archiveEscrows(km, config.km.archiveAfterDays);
        if (archived > 0) log.info({ archived }, 'escrows long out of service moved to the archive');
        const added = await fillPool(km, config.km, () => this.leader && !this.#stopped);
        if (added > 0) log.info({ added }, 'key pool filled');
      } catch (err) {
        log.error(
          { err },
          `KM pool filling or escrow expiry failed; tried again within ${CHECK_MS / 1000} s`,
        );
      }
    });
  }
}
