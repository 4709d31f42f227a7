import { type Actor, AppError } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';

/** A CA restart or a database failover is over well within half a minute. */
const firstRetryDelaySeconds = 30;
/** An outage of hours is asked about hourly, not hammered. */
const maxRetryDelaySeconds = 3600;
/**
 * Twelve failed calls, the delay doubling from 30 s to its hourly cap, span about six hours:
 * enough to ride out a CA or device maintenance window unattended, short enough that a real
 * fault reaches an operator the same day. After that the error stays on the application and
 * a certificate maker retries by hand.
 */
export const maxAutomaticAttempts = 12;

/**
 * Whether no retry of the same instruction can succeed. The CA answers a client error when the
 * instruction itself is refused (a reused key, a certificate that would break its profile, a
 * request id taken by another instruction); it answers it again however often it is asked.
 * 401 is the exception: the CA did not authenticate the RA (an expired RA certificate, a clock
 * off), which an operator fixes without the application changing.
 */
export function isPermanentRefusal(err: unknown): boolean {
  if (!(err instanceof AppError)) return false;
  if (err.code === 'KEY_REUSED') return true;
  const caStatus = err.code === 'CA_REFUSED' ? Number(err.details?.caStatus) : 0;
  return caStatus >= 400 && caStatus < 500 && ![401, 408, 429].includes(caStatus);
}

/** The failure as the application keeps and shows it. */
function issueErrorOf(err: unknown, at: Date): Record<string, unknown> {
  if (err instanceof AppError) {
    return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}), at };
  }
  return { code: 'INTERNAL', message: (err as Error).message, at };
}

/**
 * Records a failed CA call on an application that is still approved: the error, one attempt
 * more and when the retrier may try next, or the end as 'failed' for a permanent refusal.
 * One statement with its audit record; answers the status the application is left in, or
 * undefined when another attempt issued it meanwhile.
 */
export async function recordIssueFailure(
  pool: Pool,
  actor: Actor,
  id: string,
  err: unknown,
  at = new Date(),
): Promise<'approved' | 'failed' | undefined> {
  const permanent = isPermanentRefusal(err);
  const { rows } = await pool.query({
    name: 'ra-record-issue-failure',
    text: `WITH failed AS (
             UPDATE applications
                SET issue_attempts = issue_attempts + 1, issue_error = $2,
                    status = CASE WHEN $3 THEN 'failed' ELSE status END,
                    next_issue_attempt_at = CASE WHEN $3 THEN NULL
                      ELSE $4::timestamptz + make_interval(secs => least($5 * power(2, issue_attempts), $6)) END
              WHERE id = $1 AND status = 'approved'
              RETURNING id, status, issue_attempts, ca_request_id, next_issue_attempt_at
           ), audit AS (
             INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, before, after)
             SELECT $7, $8, 'application.issue_fail', 'application', id::text, '{"status":"approved"}'::jsonb,
                    jsonb_build_object('status', status, 'caRequestId', ca_request_id, 'attempt', issue_attempts,
                                       'error', $2::jsonb, 'nextAttemptAt', next_issue_attempt_at)
               FROM failed
           )
           SELECT status FROM failed`,
    values: [
      id,
      JSON.stringify(issueErrorOf(err, at)),
      permanent,
      at,
      firstRetryDelaySeconds,
      maxRetryDelaySeconds,
      actor.name,
      actor.role,
    ],
  });
  return rows[0]?.status;
}
