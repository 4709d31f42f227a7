import type { HttpServer } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';

/**
 * Rows newer than this are left for the next scrape: a publication's transaction may commit a
 * moment after the time it wrote, and a row seen late must not be skipped for good.
 */
const settleMs = 5_000;

const buckets = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 48 * 3600];

/**
 * Publication lag, for the 24-hour rule and the directory: per revocation or suspension, the time
 * from the CA recording it to the first published CRL carrying it, and per directory item the time
 * from its outbox row (written in the change's own transaction) to the directory taking it. Read
 * from the database at scrape time, each publication once per replica from the replica's start on,
 * so every replica reports the same figures whichever of them published.
 */
export function registerPublicationLagMetrics(app: HttpServer, pool: Pool): void {
  let crlSince = new Date();
  let directorySince = new Date();
  app.metrics.histogram({
    name: 'sm2ca_crl_publication_lag_seconds',
    help: 'Revocation or suspension recorded by the CA to the first published CRL carrying it, by issuer',
    labelNames: ['issuer'],
    buckets,
    async collect() {
      const until = new Date(Date.now() - settleMs);
      if (until <= crlSince) return;
      const rows = await pool
        .query(
          `SELECT issuer_id, extract(epoch FROM first_published_at - revoked_at)::float8 AS lag
             FROM crl_revocations WHERE first_published_at > $1 AND first_published_at <= $2`,
          [crlSince, until],
        )
        .then(({ rows }) => rows)
        .catch(() => undefined);
      if (!rows) return;
      crlSince = until;
      for (const row of rows) this.observe({ issuer: row.issuer_id }, Math.max(0, row.lag));
    },
  });
  app.metrics.histogram({
    name: 'sm2ca_directory_publication_lag_seconds',
    help: 'Directory outbox item written to the directory having taken it, by kind (certificate, ca_certificate, crl)',
    labelNames: ['kind'],
    buckets,
    async collect() {
      const until = new Date(Date.now() - settleMs);
      if (until <= directorySince) return;
      const rows = await pool
        .query(
          `SELECT kind, extract(epoch FROM published_at - enqueued_at)::float8 AS lag
             FROM directory_outbox WHERE published_at > $1 AND published_at <= $2`,
          [directorySince, until],
        )
        .then(({ rows }) => rows)
        .catch(() => undefined);
      if (!rows) return;
      directorySince = until;
      for (const row of rows) this.observe({ kind: row.kind }, Math.max(0, row.lag));
    },
  });
}
