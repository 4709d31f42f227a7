import pg from 'pg';
import type { Logger } from './logger.ts';

export interface ControlConnectionOptions {
  /** The primary: advisory locks and NOTIFY do not reach streaming replicas. */
  url: string;
  /** How the connection shows in pg_stat_activity, for operators (and tests) to find it. */
  applicationName: string;
  /**
   * The session-level advisory lock every replica of the service tries for: a bigint key as
   * it is, a name through PostgreSQL's hashtext. Without one the connection only listens.
   */
  lock?: bigint | string;
  /** LISTENed on from every connection, whether this replica leads or not. */
  channels: readonly string[];
  /** Between reconnection attempts, lock attempts of a follower, and liveness checks of the leader. */
  retryMs: number;
  log: Logger;
  /** After every (re)connection, once LISTEN is in place: time to catch up on what was missed. */
  onConnected?(): void;
  onNotification?(channel: string, payload: string): void;
  /** The connection is gone: notifications may be missed until onConnected. */
  onDisconnected?(): void;
  onElected?(): void;
  /** Leadership lost or given up: the lock went with the connection. */
  onDeposed?(): void;
}

/**
 * A replica's own connection to the primary, outside any pool. It LISTENs (so the replica
 * hears of changes) and tries for a session-level advisory lock (so one replica among many
 * leads): PostgreSQL frees the lock when the connection ends — process killed, host gone
 * (TCP keepalive), database restarted — and a follower takes it on its next try. Losing the
 * connection loses both, and the next connection begins with a catch-up.
 */
export class ControlConnection {
  readonly #options: ControlConnectionOptions;
  readonly #log: Logger;
  #client: pg.Client | undefined;
  #leader = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: ControlConnectionOptions) {
    this.#options = options;
    this.#log = options.log.child({ controlConnection: options.applicationName });
  }

  get leader(): boolean {
    return this.#leader;
  }

  /** Resolves once the first connection attempt is over, whether it worked or not; never rejects. */
  start(): Promise<void> {
    this.#running = this.#tick();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    this.#drop();
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    try {
      const client = this.#client ?? (await this.#connect());
      if (this.#leader || this.#options.lock === undefined) await client.query('SELECT 1');
      else await this.#tryLock(client);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'control connection lost');
      this.#drop();
    }
    if (!this.#stopped) {
      this.#timer = setTimeout(() => {
        this.#running = this.#tick();
      }, this.#options.retryMs);
    }
  }

  async #tryLock(client: pg.Client): Promise<void> {
    const { lock } = this.#options;
    if (lock === undefined) return;
    const { rows } =
      typeof lock === 'bigint'
        ? await client.query('SELECT pg_try_advisory_lock($1) AS locked', [String(lock)])
        : await client.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [lock]);
    if (!rows[0].locked || this.#stopped || client !== this.#client) return;
    this.#leader = true;
    this.#log.info('elected leader');
    this.#options.onElected?.();
  }

  async #connect(): Promise<pg.Client> {
    const { url, retryMs, applicationName, channels } = this.#options;
    const client = new pg.Client({
      connectionString: url,
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
      // A query that hangs means a dead connection whose lock the server may already have freed.
      query_timeout: Math.max(retryMs * 3, 5_000),
      application_name: applicationName,
    });
    client.on('error', (err) => {
      if (client !== this.#client) return;
      this.#log.warn({ err: err.message }, 'control connection failed');
      this.#drop();
    });
    client.on('end', () => {
      if (client === this.#client) this.#drop();
    });
    client.on('notification', (message) => {
      if (client === this.#client) this.#options.onNotification?.(message.channel, message.payload ?? '');
    });
    this.#client = client;
    try {
      await client.connect();
      for (const channel of channels) await client.query(`LISTEN ${channel}`);
    } catch (err) {
      this.#client = undefined;
      await client.end().catch(() => {});
      throw err;
    }
    this.#options.onConnected?.();
    return client;
  }

  /** Closing the connection is what gives the lock up; the replica is a follower from here on. */
  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    if (this.#leader) {
      this.#leader = false;
      if (this.#stopped) this.#log.info('leadership given up');
      else this.#log.warn('no longer leader');
      this.#options.onDeposed?.();
    }
    if (client) {
      this.#options.onDisconnected?.();
      client.end().catch(() => {});
    }
  }
}
