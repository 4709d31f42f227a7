import { type Config, LeaderJob, type Logger } from '@sm2ca/platform';
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
  readonly #job: LeaderJob;

  constructor(options: KmLeaderOptions) {
    this.#options = options;
    this.#job = new LeaderJob({
      url: options.url,
      applicationName: 'sm2ca-km-pool',
      lock: LEADER_LOCK,
      channels: [poolChannel],
      everyMs: CHECK_MS,
      retryMs: options.leaderRetryMs,
      log: options.log,
      work: () => this.#work(),
      failure: `KM pool filling or escrow expiry failed; tried again within ${CHECK_MS / 1000} s`,
    });
  }

  get leader(): boolean {
    return this.#job.leader;
  }

  /** Resolves once the first connection attempt is over; the elected replica fills at once. */
  start(): Promise<void> {
    return this.#job.start();
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }

  async #work(): Promise<void> {
    const { km, config, log } = this.#options;
    const expired = await expireEscrows(km);
    if (expired > 0) log.info({ expired }, 'escrows of expired certificates marked expired');
    const archived = await archiveEscrows(km, config.km.archiveAfterDays);
    if (archived > 0) log.info({ archived }, 'escrows long out of service moved to the archive');
    const added = await fillPool(km, config.km, () => this.#job.active);
    if (added > 0) log.info({ added }, 'key pool filled');
  }
}
