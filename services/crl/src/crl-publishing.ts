import { hostname } from 'node:os';
import type { PartsSigner } from '@sm2ca/pki';
import { type Config, ControlConnection, type Logger } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { type CaIssuer, loadCaIssuers } from './ca-issuers.ts';
import { publishedState } from './crl-archive.ts';
import { publishCrl } from './crl-publisher.ts';
import { hasUnpublishedChanges, isOnCurrentCrl } from './crl-revocations.ts';
import { type CrlKind, dueKind, nextDueAt } from './crl-schedule.ts';
import { Debouncer } from './debouncer.ts';

/** "SM2CCRL": the advisory lock of the CRL publisher (the migration runner uses "SM2C"). */
const LEADER_LOCK_KEY = 0x534d3243_43524c00n;
/** The CA's status-change channel (services/ca certificate-events.ts). */
const STATUS_CHANNEL = 'certificate_status';
const RETRY_AFTER_FAILURE_MS = 10_000;

export interface CrlPublishingOptions {
  pool: Pool;
  /** The database URL, for the leader's own connection outside the pool. */
  url: string;
  config: Config;
  log: Logger;
  signer(keyLabel: string): PartsSigner;
  leaderRetryMs?: number;
}

/**
 * Decides when each CA issuer gets a CRL, on the leader only: full CRLs when elected, on
 * the schedule and after status changes; delta CRLs between full ones and after status
 * changes (first, against the full CRL relying parties already hold). Publications run
 * one at a time in this process; the number allocation serialises them across processes.
 */
export class CrlPublishing {
  readonly publisherId = `${hostname()}:${process.pid}`;
  readonly #options: CrlPublishingOptions;
  readonly #election: ControlConnection;
  readonly #debouncer: Debouncer<string>;
  #issuers = new Map<string, CaIssuer>();
  #wanted = new Map<string, Set<CrlKind>>();
  #draining: Promise<void> | undefined;
  #busy = false;
  #timer: NodeJS.Timeout | undefined;
  #retries = new Set<NodeJS.Timeout>();
  /** False from election until the new leader has asked for its first full CRLs. */
  #caughtUp = false;

  constructor(options: CrlPublishingOptions) {
    this.#options = options;
    const quietMs = options.config.crl.debounceSeconds * 1000;
    this.#debouncer = new Debouncer(quietMs, quietMs * 5, (issuerId) =>
      this.#request(issuerId, ['delta', 'full']),
    );
    this.#election = new ControlConnection({
      url: options.url,
      applicationName: 'sm2ca-crl-leader',
      lock: LEADER_LOCK_KEY,
      channels: [STATUS_CHANNEL],
      retryMs: options.leaderRetryMs ?? 3_000,
      log: options.log,
      onElected: () => {
        this.#caughtUp = false;
        void this.#tick();
      },
      onDeposed: () => this.#idle(),
      // Followers hear the channel too; the leader's catch-up on election covers what they drop.
      onNotification: (_channel, payload) => {
        if (this.leader) this.#onStatusChange(payload);
      },
    });
  }

  get leader(): boolean {
    return this.#election.leader;
  }

  start(): void {
    void this.#election.start();
  }

  async stop(): Promise<void> {
    await this.#election.stop();
    this.#idle();
    await this.#draining;
  }

  /**
   * Elected: a full CRL per issuer at once — which also catches up on whatever the previous
   * leader heard but never published, with a delta first when such changes exist. Later
   * ticks publish what the schedule says is due, reading the archive so the cycle carries
   * on across restarts and failovers.
   */
  async #tick(): Promise<void> {
    clearTimeout(this.#timer);
    if (!this.leader) return;
    const { pool, config, log } = this.#options;
    let sleep = config.crl.scheduleCheckSeconds * 1000;
    try {
      this.#issuers = await loadCaIssuers(pool);
      const now = new Date();
      const caughtUp = this.#caughtUp;
      const requests: [string, CrlKind[]][] = [];
      for (const issuer of this.#issuers.values()) {
        const state = await publishedState(pool, issuer.id);
        if (!caughtUp) {
          const pending = state.full !== undefined && (await hasUnpublishedChanges(pool, issuer.id));
          requests.push([issuer.id, pending ? ['delta', 'full'] : ['full']]);
          continue;
        }
        const kind = dueKind(state, now, config.crl);
        if (kind) requests.push([issuer.id, [kind]]);
        else sleep = Math.min(sleep, nextDueAt(state, config.crl).getTime() - now.getTime());
      }
      for (const [issuerId, kinds] of requests) this.#request(issuerId, kinds);
      this.#caughtUp = true;
    } catch (err) {
      log.error({ err }, 'CRL schedule check failed');
      sleep = RETRY_AFTER_FAILURE_MS;
    }
    if (this.leader) this.#timer = setTimeout(() => void this.#tick(), Math.max(sleep, 1_000));
  }

  #onStatusChange(payload: string): void {
    let event: { issuerId?: unknown; serial?: unknown; status?: unknown };
    try {
      event = JSON.parse(payload);
    } catch {
      return;
    }
    const { issuerId, serial, status } = event;
    if (typeof issuerId !== 'string' || typeof serial !== 'string') return;
    if (status === 'revoked' || status === 'hold') {
      this.#debouncer.touch(issuerId);
    } else if (status === 'good') {
      // Issuance says "good" too; only a release from hold changes a CRL.
      isOnCurrentCrl(this.#options.pool, issuerId, serial).then(
        (listed) => listed && this.leader && this.#debouncer.touch(issuerId),
        (err) => this.#options.log.error({ err }, 'CRL publisher: status lookup failed'),
      );
    }
  }

  #request(issuerId: string, kinds: CrlKind[]): void {
    if (!this.leader) return;
    const wanted = this.#wanted.get(issuerId) ?? new Set();
    for (const kind of kinds) wanted.add(kind);
    this.#wanted.set(issuerId, wanted);
    if (!this.#busy) {
      this.#busy = true;
      this.#draining = this.#drain();
    }
  }

  async #drain(): Promise<void> {
    try {
      for (const [issuerId, kinds] of this.#wanted) {
        this.#wanted.delete(issuerId);
        // The delta goes first: it is based on the full CRL relying parties hold right now.
        for (const kind of ['delta', 'full'] as const) {
          if (!this.leader) return;
          if (kinds.has(kind) && !(await this.#publish(issuerId, kind))) break;
        }
      }
    } finally {
      // Cleared in the same step as the last look at #wanted, so no request can slip between.
      this.#busy = false;
    }
  }

  async #publish(issuerId: string, kind: CrlKind): Promise<boolean> {
    const { pool, log } = this.#options;
    try {
      if (!this.#issuers.has(issuerId)) this.#issuers = await loadCaIssuers(pool);
      const issuer = this.#issuers.get(issuerId);
      // Status changes of certificates issued by the RA or OCSP signer keys have no CRL here.
      if (!issuer) return true;
      const published = await publishCrl(
        {
          pool,
          config: this.#options.config,
          signer: this.#options.signer,
          publisherId: this.publisherId,
        },
        issuer,
        kind,
      );
      for (const crl of published) {
        log.info(
          { issuerId, crlNumber: String(crl.number), kind: crl.kind, entries: crl.entryCount },
          'CRL published',
        );
      }
      return true;
    } catch (err) {
      log.error({ err, issuerId, kind }, 'CRL publication failed; trying again shortly');
      const retry = setTimeout(() => {
        this.#retries.delete(retry);
        this.#request(issuerId, [kind]);
      }, RETRY_AFTER_FAILURE_MS);
      this.#retries.add(retry);
      return false;
    }
  }

  /** Deposed or stopping: the new leader starts from the archive, so nothing here is kept. */
  #idle(): void {
    clearTimeout(this.#timer);
    this.#debouncer.clear();
    this.#wanted.clear();
    for (const retry of this.#retries) clearTimeout(retry);
    this.#retries.clear();
  }
}
