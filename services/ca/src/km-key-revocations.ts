import { AppError, type KmClient, LeaderJob, type Logger } from '@sm2ca/platform';
import type { Pool, PoolClient } from '@sm2ca/store';

/** Channel the sender LISTENs on, so a revocation reaches the KM at once rather than at the next sweep. */
export const kmKeyRevocationChannel = 'km_key_revocations';
const LEADER_LOCK = 'sm2ca:ca-km-key-revocations';

/**
 * Owes the KM a key revocation when the certificate just revoked is for a key the KM escrows:
 * the outbox row and its NOTIFY in the revocation's own transaction, so the KM hears of
 * exactly the revocations that committed, however long it is away.
 */
export async function oweKmKeyRevocation(
  client: PoolClient,
  issuerId: string,
  serial: string,
): Promise<void> {
  await client.query(
    `WITH owed AS (
       INSERT INTO km_key_revocations (issuer_id, serial)
       SELECT issuer_id, serial FROM km_certificates WHERE issuer_id = $1 AND serial = $2
       ON CONFLICT DO NOTHING
       RETURNING issuer_id, serial
     )
     SELECT pg_notify($3, issuer_id || '/' || serial) FROM owed`,
    [issuerId, serial, kmKeyRevocationChannel],
  );
}

export interface KmKeyRevocationsOptions {
  pool: Pool;
  /** The database URL, for the leader's own connection outside the pool. */
  url: string;
  km: Pick<KmClient, 'revokeKey'>;
  log: Logger;
  leaderRetryMs?: number;
  /** Between sweeps that find what a NOTIFY missed. */
  sweepMs?: number;
  /** The wait after a first failure; it doubles with every failure up to an hour. */
  firstRetryMs?: number;
}

const actor = { name: 'ca', role: 'km_client' };
const maxRetryMs = 3_600_000;

/**
 * Sends the KM the key revocations the CA owes it (RevokeKeyReq): the leading CA replica,
 * when elected, when a revocation is announced and on a periodic sweep. A failed call is
 * tried again later, the wait doubling; a confirmed one is marked done with its audit
 * record. The task number is derived from the certificate, so a revocation sent twice (a
 * leader lost between the KM's answer and the mark) is one task to the KM.
 */
export class KmKeyRevocations {
  readonly #options: KmKeyRevocationsOptions;
  readonly #job: LeaderJob;
  #wakeTimer: NodeJS.Timeout | undefined;

  constructor(options: KmKeyRevocationsOptions) {
    this.#options = options;
    this.#job = new LeaderJob({
      url: options.url,
      applicationName: 'sm2ca-ca-km-key-revocations',
      lock: LEADER_LOCK,
      channels: [kmKeyRevocationChannel],
      everyMs: options.sweepMs ?? 60_000,
      retryMs: options.leaderRetryMs,
      log: options.log,
      work: async () => {
        await this.#sendDue();
        await this.#wakeAtNextDue();
      },
      failure: 'sending key revocations to the KM failed; tried again at the next sweep',
    });
  }

  get leader(): boolean {
    return this.#job.leader;
  }

  start(): Promise<void> {
    return this.#job.start();
  }

  async stop(): Promise<void> {
    await this.#job.stop();
    clearTimeout(this.#wakeTimer);
  }

  async #sendDue(): Promise<void> {
    const { pool, km, log } = this.#options;
    const { rows } = await pool.query(
      `SELECT issuer_id, serial FROM km_key_revocations
        WHERE done_at IS NULL AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT 100`,
    );
    for (const row of rows as Array<{ issuer_id: string; serial: string }>) {
      if (!this.#job.active) return;
      try {
        await km.revokeKey(`revoke-${row.serial}`, row.issuer_id, { userCertNo: row.serial });
      } catch (err) {
        await this.#recordFailure(row.issuer_id, row.serial, err);
        log.warn(
          { err, issuerId: row.issuer_id, serial: row.serial },
          'the KM did not take a key revocation',
        );
        // The KM away: the rest would fail alike, and each is tried again when due.
        if (err instanceof AppError && err.code === 'KM_UNAVAILABLE') return;
        continue;
      }
      await pool.query({
        name: 'ca-km-key-revocation-done',
        text: `WITH done AS (
                 UPDATE km_key_revocations SET done_at = now(), attempts = attempts + 1
                  WHERE issuer_id = $1 AND serial = $2 AND done_at IS NULL
                  RETURNING issuer_id, serial, attempts
               )
               INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
               SELECT $3, $4, 'km.key_revoke', 'certificate', issuer_id || '/' || serial,
                      jsonb_build_object('attempt', attempts)
                 FROM done`,
        values: [row.issuer_id, row.serial, actor.name, actor.role],
      });
    }
  }

  /** One attempt more, the next one later, and the error for operators, with its audit record. */
  async #recordFailure(issuerId: string, serial: string, err: unknown): Promise<void> {
    const error =
      err instanceof AppError
        ? { code: err.code, message: err.message, at: new Date() }
        : { code: 'INTERNAL', message: (err as Error).message, at: new Date() };
    await this.#options.pool.query({
      name: 'ca-km-key-revocation-failed',
      text: `WITH failed AS (
               UPDATE km_key_revocations
                  SET attempts = attempts + 1, last_error = $3,
                      next_attempt_at = now() + make_interval(secs => least($4 * power(2, attempts), $5) / 1000.0)
                WHERE issuer_id = $1 AND serial = $2 AND done_at IS NULL
                RETURNING issuer_id, serial, attempts, next_attempt_at
             )
             INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
             SELECT $6, $7, 'km.key_revoke_fail', 'certificate', issuer_id || '/' || serial,
                    jsonb_build_object('attempt', attempts, 'error', $3::jsonb, 'nextAttemptAt', next_attempt_at)
               FROM failed`,
      values: [
        issuerId,
        serial,
        JSON.stringify(error),
        this.#options.firstRetryMs ?? 30_000,
        maxRetryMs,
        actor.name,
        actor.role,
      ],
    });
  }

  /** A run when the next revocation falls due, unless a sweep or a NOTIFY comes first. */
  async #wakeAtNextDue(): Promise<void> {
    const { rows } = await this.#options.pool.query(
      'SELECT min(next_attempt_at) AS due FROM km_key_revocations WHERE done_at IS NULL',
    );
    clearTimeout(this.#wakeTimer);
    const due = rows[0].due as Date | null;
    if (!due || !this.#job.active) return;
    this.#wakeTimer = setTimeout(() => this.#job.run(), Math.max(0, due.getTime() - Date.now()) + 10);
    this.#wakeTimer.unref();
  }
}
