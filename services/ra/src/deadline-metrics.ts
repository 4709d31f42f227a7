import type { HttpServer } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';

/**
 * Applications waiting for a decision, overdue or not, against the 2-working-day deadline set
 * when each was entered. Read at scrape time: the deadline passes without any request to count it.
 */
export function registerDeadlineMetrics(app: HttpServer, pool: Pool): void {
  app.metrics.gauge({
    name: 'sm2ca_applications_undecided',
    help: 'Applications entered and not yet decided, by whether their decision deadline has passed',
    labelNames: ['overdue'],
    async collect() {
      this.reset();
      // While the database is away the series vanish (absent() alerts on that) and /metrics still answers.
      const counted = await pool
        .query(
          `SELECT count(*) FILTER (WHERE deadline < now()) AS overdue, count(*) AS total
             FROM applications WHERE status = 'submitted'`,
        )
        .catch(() => undefined);
      if (!counted) return;
      const { rows } = counted;
      const overdue = Number(rows[0].overdue);
      this.set({ overdue: 'true' }, overdue);
      this.set({ overdue: 'false' }, Number(rows[0].total) - overdue);
    },
  });
}
