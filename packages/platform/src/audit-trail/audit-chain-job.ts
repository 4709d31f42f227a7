import { hostname } from 'node:os';
import type { Signer } from '@sm2ca/pki';
import type { Pool } from '@sm2ca/store';
import { AppError } from '../app-error.ts';
import type { Config } from '../config.ts';
import { ControlConnection } from '../control-connection.ts';
import type { Logger } from '../logger.ts';
import { makeCheckpoint } from './audit-checkpoint.ts';
import { sealAuditRecords } from './audit-sealer.ts';

/** One leader among every replica of every service: the chain has one writer at a time. */
const LEADER_LOCK = 'sm2ca:audit-chain-leader';
/** audit_log's NOTIFY trigger (migration 0013). */
const CHANNEL = 'audit_log';

export interface AuditChainJobOptions {
  pool: Pool;
  /** The primary, for the leader's own connection. */
  url: string;
  config: Config;
  log: Logger;
  signer(keyLabel: string): Signer;
  /** Seal sweep, for records that waited on an older transaction (NOTIFY came before they could go). */
  sweepMs?: number;
  /** Least time from one pass's start to the next's (default 100 ms). */
  passGapMs?: number;
  leaderRetryMs?: number;
}

/**
 * Seals audit records into the chain and signs a checkpoint every audit.checkpointMinutes on the
 * replica holding the lock: woken by audit_log's NOTIFY, and by a sweep. When a checkpoint is due
 * is read from the last one in the database, so the rhythm survives restarts and failovers.
 */
export class AuditChainJob {
  readonly #options: AuditChainJobOptions;
  readonly #election: ControlConnection;
  readonly #madeBy = `${hostname()}:${process.pid}`;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #lastPass = 0;
  #soon = false;
  #keyMissingSaid = false;

  constructor(options: AuditChainJobOptions) {
    this.#options = options;
    this.#election = new ControlConnection({
      url: options.url,
      applicationName: 'sm2ca-audit-chain',
      lock: LEADER_LOCK,
      channels: [CHANNEL],
      retryMs: options.leaderRetryMs ?? 3_000,
      log: options.log,
      onElected: () => this.#wake(),
      onNotification: () => {
        if (this.leader) this.#wake();
      },
      onDeposed: () => {
        clearTimeout(this.#timer);
        this.#soon = false;
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
    clearTimeout(this.#timer);
    await this.#running;
  }

  /**
   * One pass at a time; a wake-up during a pass asks for one more. Passes are kept apart by
   * passGapMs: under steady issuance every audited statement notifies, and a pass for each cost
   * more round trips than the records it sealed; a gap lets one pass seal what came meanwhile.
   */
  #wake(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    const wait = this.#lastPass + (this.#options.passGapMs ?? 100) - Date.now();
    if (wait > 0) {
      if (!this.#soon) {
        clearTimeout(this.#timer);
        this.#soon = true;
        this.#timer = setTimeout(() => {
          this.#soon = false;
          this.#wake();
        }, wait);
      }
      return;
    }
    clearTimeout(this.#timer);
    this.#soon = false;
    this.#lastPass = Date.now();
    this.#running = this.#pass().finally(() => {
      this.#running = undefined;
      if (!this.leader) return;
      if (this.#again) {
        this.#again = false;
        this.#wake();
      } else {
        this.#timer = setTimeout(() => this.#wake(), this.#options.sweepMs ?? 5_000);
      }
    });
  }

  async #pass(): Promise<void> {
    const { pool, log, config } = this.#options;
    try {
      await sealAuditRecords(pool);
      if (!(await this.#checkpointDue())) return;
      const checkpoint = await makeCheckpoint(pool, this.#options.signer, {
        home: config.home,
        sink: config.audit.checkpointSink,
        madeBy: this.#madeBy,
        onlyWhenGrown: true,
      });
      if (checkpoint) log.info({ seq: checkpoint.seq, head: checkpoint.head }, 'audit checkpoint signed');
    } catch (err) {
      if (err instanceof AppError && err.code === 'AUDIT_KEY_MISSING') {
        if (!this.#keyMissingSaid) log.warn(err.message);
        this.#keyMissingSaid = true;
        return;
      }
      log.error({ err }, 'audit chain: sealing or checkpoint failed; tried again on the next sweep');
    }
  }

  #checkpointDue(): Promise<boolean> {
    return checkpointDue(this.#options.pool, this.#options.config.audit.checkpointMinutes);
  }
}

/**
 * Whether the last checkpoint is older than the interval: the audit admin's (audit_settings)
 * once set, else the configured one.
 */
export async function checkpointDue(pool: Pool, configuredMinutes: number): Promise<boolean> {
  const { rows } = await pool.query(
    `SELECT max(at) IS NULL
            OR max(at) <= now() - make_interval(mins =>
                 coalesce((SELECT checkpoint_minutes FROM audit_settings), $1)) AS due
       FROM audit_checkpoints`,
    [configuredMinutes],
  );
  return rows[0].due;
}
