import type { HttpServer } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';

interface LatestCrl {
  issuer: string;
  kind: string;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
}

/**
 * The newest full and delta CRL of each issuer, read from the archive at scrape time so that every
 * replica reports what was published, whichever of them published it. Times are Unix seconds, as
 * Prometheus prefers: the age is `time() - sm2ca_crl_this_update_timestamp_seconds`.
 */
export function registerCrlMetrics(app: HttpServer, pool: Pool): void {
  // prom-client collects all gauges of a scrape at once: they share one query.
  let pending: Promise<LatestCrl[]> | undefined;
  const latest = () => {
    pending ??= pool
      .query(
        `SELECT DISTINCT ON (issuer_id, kind) issuer_id, kind, crl_number, this_update, next_update
           FROM crls ORDER BY issuer_id, kind, crl_number DESC`,
      )
      .then(({ rows }) =>
        rows.map((row) => ({
          issuer: String(row.issuer_id),
          kind: String(row.kind),
          crlNumber: Number(row.crl_number),
          thisUpdate: row.this_update as Date,
          nextUpdate: row.next_update as Date,
        })),
      )
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  const gauges: [string, string, (crl: LatestCrl) => number][] = [
    ['sm2ca_crl_number', 'CRL number of the newest published CRL', (crl) => crl.crlNumber],
    [
      'sm2ca_crl_this_update_timestamp_seconds',
      'thisUpdate of the newest published CRL',
      (crl) => crl.thisUpdate.getTime() / 1000,
    ],
    [
      'sm2ca_crl_next_update_timestamp_seconds',
      'nextUpdate of the newest published CRL',
      (crl) => crl.nextUpdate.getTime() / 1000,
    ],
  ];
  for (const [name, help, value] of gauges) {
    app.metrics.gauge({
      name,
      help: `${help}, by issuer and kind (full, delta)`,
      labelNames: ['issuer', 'kind'],
      async collect() {
        // While the database is away the series vanish (absent() alerts on that) and /metrics still answers.
        const crls = await latest().catch(() => []);
        this.reset();
        for (const crl of crls) this.set({ issuer: crl.issuer, kind: crl.kind }, value(crl));
      },
    });
  }
}
