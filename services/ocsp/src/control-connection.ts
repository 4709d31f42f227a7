import type { Logger } from '@sm2ca/platform';
import pg from 'pg';

export interface ControlConnectionOptions {
  /** The primary: NOTIFY does not reach streaming replicas. */
  url: string;
  channels: readonly string[];
  /** Every replica uses the same key; whoever holds it pre-signs. */
  lockName: string;
  /** Between reconnection attempts, lock attempts of a follower, and liveness checks. */
  retryMs: number;
  log: Logger;
  /** After every (re)connection, once LISTEN is in place: time to catch up on what was missed. */
  onConnected(): void;
  onNotification(channel: string, payload: string): void;
  onLeadership(leader: boolean): void;
}

/**
 * The replica's own connection to the primary. It LISTENs (every replica keeps its memory
 * current) and tries for a session-level advisory lock (one replica signs): PostgreSQL frees
 * the lock when the connection ends — process killed, host gone (TCP keepalive), database
 * restarted — and a follower takes it on its next try. Losing the connection loses both,
 * and the next connection begins with a catch-up.
 */
export class ControlConnection {
  #client: pg.Client | undefined;
  #leader = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(private readonly options: ControlConnectionOptions) {}

  get leader(): boolean {
    return this.#leader;
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** Resolves once the first connection attempt is over, whether it worked or not. */
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
      if (this.#leader) await client.query('SELECT 1');
      else await this.#tryLock(client);
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'OCSP: control connection lost');
      this.#drop();
    }
    if (!this.#stopped) {
      this.#timer = setTimeout(() => {
        this.#running = this.#tick();
      }, this.options.retryMs);
    }
  }

  async #tryLock(client: pg.Client): Promise<void> {
    const { rows } = await client.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
      this.options.lockName,
    ]);
    if (!rows[0].locked || this.#stopped || client !== this.#client) return;
    this.#leader = true;
    this.options.log.info('OCSP: this replica now pre-signs responses');
    this.options.onLeadership(true);
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.options.url,
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
      // A query that hangs means a dead connection whose lock the server may already have freed.
      query_timeout: Math.max(this.options.retryMs * 3, 5_000),
      application_name: 'sm2ca-ocsp-control',
    });
    client.on('error', (err) => {
      if (client !== this.#client) return;
      this.options.log.warn({ err: err.message }, 'OCSP: control connection failed');
      this.#drop();
    });
    client.on('end', () => {
      if (client === this.#client) this.#drop();
    });
    client.on('notification', (message) => {
      if (client === this.#client) this.options.onNotification(message.channel, message.payload ?? '');
    });
    this.#client = client;
    try {
      await client.connect();
      for (const channel of this.options.channels) await client.query(`LISTEN ${channel}`);
    } catch (err) {
      this.#client = undefined;
      await client.end().catch(() => {});
      throw err;
    }
    this.options.onConnected();
    return client;
  }

  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    if (this.#leader) {
      this.#leader = false;
      if (this.#stopped) this.options.log.info('OCSP: stopped pre-signing');
      else this.options.log.warn('OCSP: no longer pre-signing (control connection closed)');
      this.options.onLeadership(false);
    }
    client?.end().catch(() => {});
  }
}
