import type { Actor, Logger } from '@sm2ca/platform';
import type { IssueAnswer } from './ca-client.ts';
import { maxAutomaticAttempts, recordIssueFailure } from './issue-failure.ts';
import { type IssuableRow, issuedAudit, issueInstructionOf } from './issue-instruction.ts';
import type { RaContext } from './ra-context.ts';
import { replacedRevocationSql, sendReplacedRevocation } from './supersession.ts';

/**
 * How far taking an application moves its next attempt on: well beyond the CA client's 30 s
 * timeout, so no replica takes over an application another is still asking the CA about,
 * and one that died mid-call is taken over after it.
 */
export const leaseSeconds = 120;

/** Applications taken per statement: a CA just back is asked one at a time, not flooded. */
const batchSize = 10;

const retrier: Actor = { name: 'ra', role: 'issue_retrier' };

type Due = IssuableRow & { id: string; ca_request_id: string; issue_attempts: number };

/**
 * Sends the instructions of approved applications whose CA call failed (or never finished)
 * again, under the request id the first attempt claimed: the CA answers a known id with the
 * certificate it issued for it, so a retry never makes a second one. Any number of RA replicas
 * may run one; FOR UPDATE SKIP LOCKED and the lease give each due application to one of them.
 */
export class IssueRetrier {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly ctx: RaContext,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  /** Runs now (applications left by a stopped RA are due already) and then every interval. */
  start(): void {
    this.#stopped = false;
    this.#tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #tick(): void {
    this.#running = this.runOnce()
      .catch((err: unknown) => this.log.error({ err }, 'issuance retry run failed'))
      .finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), this.intervalMs);
      });
  }

  /** Retries every application due at `now`; answers how many it sent to the CA. */
  async runOnce(now = new Date()): Promise<number> {
    let sent = 0;
    for (;;) {
      const due = await this.#take(now);
      for (const row of due) {
        if (this.#stopped) return sent;
        await this.#retry(row, now);
        sent++;
      }
      if (due.length < batchSize) return sent;
    }
  }

  /** Leases the applications due at `now` that no other replica holds. */
  async #take(now: Date): Promise<Due[]> {
    const { rows } = await this.ctx.pool.query({
      name: 'ra-take-due-issuance',
      text: `UPDATE applications a SET next_issue_attempt_at = $1::timestamptz + make_interval(secs => $2)
               FROM (SELECT id FROM applications
                      WHERE status = 'approved' AND ca_request_id IS NOT NULL
                        AND next_issue_attempt_at <= $1 AND issue_attempts < $3
                      ORDER BY next_issue_attempt_at LIMIT $4
                      FOR UPDATE SKIP LOCKED) due
              WHERE a.id = due.id
          RETURNING a.id, a.holder_type, a.holder, a.profile, a.template, a.template_version, a.encryption_template,
                    a.encryption_template_version, a.holder_key, a.csr, a.dual, a.ca_request_id,
                    a.issue_attempts`,
      values: [now, leaseSeconds, maxAutomaticAttempts, batchSize],
    });
    return rows.map((r) => ({ ...r, id: String(r.id) }));
  }

  async #retry(row: Due, now: Date): Promise<void> {
    let answer: IssueAnswer;
    try {
      answer = await this.ctx.ca.issue(issueInstructionOf(row, row.ca_request_id));
    } catch (err) {
      const status = await recordIssueFailure(this.ctx.pool, retrier, row.id, err, now);
      this.log.warn(
        {
          err,
          applicationId: row.id,
          caRequestId: row.ca_request_id,
          attempt: row.issue_attempts + 1,
          status,
        },
        'issuance retry failed',
      );
      return;
    }
    const issued = await this.#recordIssued(row, answer);
    if (issued) await sendReplacedRevocation(this.ctx, retrier, row.id, this.log);
    this.log.info(
      { applicationId: row.id, caRequestId: row.ca_request_id, serial: answer.serial, recorded: issued },
      'issuance retry completed',
    );
  }

  /**
   * Marks the application issued with its audit record, in one statement. No download code:
   * a code is shown once, to the maker who asks for it, and nobody watches the retrier; the
   * maker hands one out for the issued application. False when a maker recorded it first.
   */
  async #recordIssued(row: Due, answer: IssueAnswer): Promise<boolean> {
    const { rowCount } = await this.ctx.pool.query({
      name: 'ra-record-retried-issue',
      text: `WITH issued AS (
               UPDATE applications SET status = 'issued', issued_at = now(), issuer_id = $2, serial = $3,
                                       encryption_serial = $7, enveloped_key = $8, next_issue_attempt_at = NULL
                WHERE id = $1 AND status = 'approved'
                RETURNING id
             ), audit AS (
               INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, before, after)
               SELECT $4, $5, 'application.issue', 'application', id::text, '{"status":"approved"}'::jsonb, $6::jsonb
                 FROM issued
             ), ${replacedRevocationSql('issued', 'renewal', '$4', '$5')}
             SELECT FROM issued`,
      values: [
        row.id,
        answer.issuerId,
        answer.serial,
        retrier.name,
        retrier.role,
        JSON.stringify({ ...issuedAudit(answer), caRequestId: row.ca_request_id }),
        answer.encryption?.serial ?? null,
        answer.encryption ? Buffer.from(answer.encryption.envelopedKey, 'base64') : null,
      ],
    });
    return rowCount === 1;
  }
}
