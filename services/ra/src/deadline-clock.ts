import type { Pool } from '@sm2ca/store';
import { monthBounds, reportingZone } from './evidence-months.ts';

export interface DeadlineEntry {
  applicationId: string;
  holderType: string;
  profile: string;
  enteredAt: string;
  deadline: string;
  deadlineProvisional: boolean;
  hoursLeft: number;
}

export interface DeadlineMonth {
  month: string;
  received: number;
  decided: number;
  decidedOnTime: number;
  /** decidedOnTime / decided; null in a month with no decision. */
  onTimeShare: number | null;
}

/**
 * Undecided applications against their 2-working-day deadline: those past it, and those due
 * within `withinHours`. No holder data: the clock is for whoever watches the deadlines.
 */
export async function undecidedByDeadline(
  pool: Pool,
  withinHours: number,
): Promise<{ overdue: DeadlineEntry[]; dueSoon: DeadlineEntry[] }> {
  const { rows } = await pool.query(
    `SELECT id, holder_type, profile, entered_at, deadline, deadline_provisional,
            extract(epoch FROM deadline - now()) / 3600 AS hours_left
       FROM applications
      WHERE status = 'submitted' AND deadline < now() + make_interval(hours => $1)
      ORDER BY deadline, id`,
    [withinHours],
  );
  const entries = rows.map(
    (row): DeadlineEntry => ({
      applicationId: String(row.id),
      holderType: row.holder_type,
      profile: row.profile,
      enteredAt: (row.entered_at as Date).toISOString(),
      deadline: (row.deadline as Date).toISOString(),
      deadlineProvisional: row.deadline_provisional,
      hoursLeft: Math.round(Number(row.hours_left) * 10) / 10,
    }),
  );
  return {
    overdue: entries.filter((entry) => entry.hoursLeft < 0),
    dueSoon: entries.filter((entry) => entry.hoursLeft >= 0),
  };
}

/** Per month: applications received, decided, and decided by their deadline. */
export async function decisionsByMonth(
  pool: Pool,
  range: { from: string; to: string },
): Promise<DeadlineMonth[]> {
  const { rows } = await pool.query(
    `WITH months AS (
       SELECT to_char(m, 'YYYY-MM') AS month
         FROM generate_series($1::date, $2::date - interval '1 month', interval '1 month') AS m
     ), received AS (
       SELECT to_char(entered_at AT TIME ZONE '${reportingZone}', 'YYYY-MM') AS month, count(*) AS n
         FROM applications
        WHERE entered_at >= $1::timestamp AT TIME ZONE '${reportingZone}'
          AND entered_at < $2::timestamp AT TIME ZONE '${reportingZone}'
        GROUP BY 1
     ), decided AS (
       SELECT to_char(reviewed_at AT TIME ZONE '${reportingZone}', 'YYYY-MM') AS month, count(*) AS n,
              count(*) FILTER (WHERE reviewed_at <= deadline) AS on_time
         FROM applications
        WHERE reviewed_at >= $1::timestamp AT TIME ZONE '${reportingZone}'
          AND reviewed_at < $2::timestamp AT TIME ZONE '${reportingZone}'
        GROUP BY 1
     )
     SELECT months.month, coalesce(received.n, 0) AS received, coalesce(decided.n, 0) AS decided,
            coalesce(decided.on_time, 0) AS on_time
       FROM months LEFT JOIN received USING (month) LEFT JOIN decided USING (month)
      ORDER BY months.month`,
    monthBounds(range),
  );
  return rows.map((row) => {
    const decided = Number(row.decided);
    const onTime = Number(row.on_time);
    return {
      month: row.month,
      received: Number(row.received),
      decided,
      decidedOnTime: onTime,
      onTimeShare: decided === 0 ? null : onTime / decided,
    };
  });
}
