import type { Logger } from '@sm2ca/platform';
import pg from 'pg';

export interface LeaderElectionOptions {
  url: string;
  /** pg_try_advisory_lock key; every replica of the publisher uses the same one. */
  lockKey: bigint;
  /** Channel to LISTEN on while leading (notifications go to the leader only). */
  channel: string;
  /** How often a follower tries for the lock and the leader checks its connection. */
  retryMs: number;
  log: Logger;
  onElected(): void;
  onDeposed(): void;
  onNotification(payload: string): void;
}

/**
 * One leader among the replicas: whoever holds a session-level advisory lock on its own
 * dedicated connection. PostgreSQL frees the lock when that connection ends — process
 * killed, host gone (TCP keepalive), database restarted — and a follower takes it on its
 * next try. The leader LISTENs on the same connection, so it hears of status changes
 * exactly while it leads.
 */
export class LeaderElection {
  #client: pg.Client | undefined;
  #leader = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(private readonly options: LeaderElectionOptions) {}

  get leader(): boolean {
    return this.#leader;
  }

  start(): void {
    this.#running = this.#tick();
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
      if (this.#leader) await this.#client!.query('SELECT 1');
      else await this.#tryLock();
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'CRL publisher: lock connection lost');
      this.#drop();
    }
    if (!this.#stopped) {
      this.#timer = setTimeout(() => {
        this.#running = this.#tick();
      }, this.options.retryMs);
    }
  }

  async #tryLock(): Promise<void> {
    const client = this.#client ?? (await this.#connect());
    const { rows } = await client.query('SELECT pg_try_advisory_lock($1) AS locked', [
      String(this.options.lockKey),
    ]);
    if (!rows[0].locked || this.#stopped || client !== this.#client) return;
    await client.query(`LISTEN ${this.options.channel}`);
    this.#leader = true;
    this.options.log.info('CRL publisher: elected leader');
    this.options.onElected();
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.options.url,
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
      // A query that hangs means a dead connection whose lock the server may already have freed.
      query_timeout: Math.max(this.options.retryMs * 3, 5_000),
      application_name: 'sm2ca-crl-leader',
    });
    client.on('error', (err) => {
      if (client !== this.#client) return;
      this.options.log.warn({ err: err.message }, 'CRL publisher: lock connection failed');
      this.#drop();
    });
    client.on('end', () => {
      if (client === this.#client) this.#drop();
    });
    client.on('notification', (message) => {
      if (client === this.#client && this.#leader && message.payload)
        this.options.onNotification(message.payload);
    });
    this.#client = client;
    try {
      await client.connect();
    } catch (err) {
      this.#client = undefined;
      throw err;
    }
    return client;
  }

  /** Closing the connection is what gives the lock up; the replica is a follower from here on. */
  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    if (this.#leader) {
      this.#leader = false;
      if (this.#stopped) this.options.log.info('CRL publisher: leadership given up');
      else this.options.log.warn('CRL publisher: no longer leader');
      this.options.onDeposed();
    }
    client?.end().catch(() => {});
  }
}
