import type { Pool } from '@sm2ca/store';

/** A pending outbox item (migrations/0014_directory.sql) with what publishing it needs. */
export interface OutboxItem {
  id: string;
  kind: 'certificate' | 'ca_certificate' | 'crl';
  issuerId: string;
  entryKey: string;
  attempts: number;
  due: boolean;
  serial?: string;
  crlNumber?: string;
  /** A certificate item's certificate as it is now, read with the item: DER, and whether it belongs in the directory. */
  certificate?: { der: Buffer; listed: boolean };
}

/** The pending items in id order (the order their state changes committed in), up to `limit`. */
export async function pendingItems(pool: Pool, limit: number): Promise<OutboxItem[]> {
  const { rows } = await pool.query({
    name: 'directory-pending',
    text: `SELECT o.id::text, o.kind, o.issuer_id, o.serial, o.crl_number::text, o.entry_key, o.attempts,
                  o.next_attempt_at <= clock_timestamp() AS due, c.der,
                  c.status = 'good' AND directory_consents(c.issuer_id, c.serial) AS listed
             FROM directory_outbox o
             LEFT JOIN certificates c ON o.kind = 'certificate' AND c.issuer_id = o.issuer_id AND c.serial = o.serial
            WHERE o.published_at IS NULL ORDER BY o.id LIMIT $1`,
    values: [limit],
  });
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    issuerId: r.issuer_id,
    entryKey: r.entry_key,
    attempts: r.attempts,
    due: r.due,
    ...(r.serial === null ? {} : { serial: r.serial }),
    ...(r.crl_number === null ? {} : { crlNumber: r.crl_number }),
    ...(r.der ? { certificate: { der: r.der, listed: r.listed } } : {}),
  }));
}

export async function markPublished(pool: Pool, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await pool.query({
    name: 'directory-published',
    text: `UPDATE directory_outbox SET published_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL
            WHERE id = ANY($1::bigint[])`,
    values: [ids],
  });
}

/** Doubling from one second up to `maxSeconds`: a directory down for long is tried every `maxSeconds`. */
export function backoffSeconds(attempts: number, maxSeconds: number): number {
  return Math.min(maxSeconds, 2 ** Math.min(attempts, 20));
}

export async function markFailed(
  pool: Pool,
  item: OutboxItem,
  error: string,
  maxSeconds: number,
): Promise<void> {
  await pool.query({
    name: 'directory-failed',
    text: `UPDATE directory_outbox
              SET attempts = attempts + 1, last_error = $2,
                  next_attempt_at = clock_timestamp() + make_interval(secs => $3)
            WHERE id = $1`,
    values: [item.id, error.slice(0, 1000), backoffSeconds(item.attempts, maxSeconds)],
  });
}

export interface OutboxStatus {
  pending: number;
  /** Items tried at least once and not published yet. */
  failing: number;
  oldestPending?: {
    id: string;
    kind: string;
    enqueuedAt: string;
    ageSeconds: number;
    attempts: number;
    lastError?: string;
  };
  lastPublishedAt?: string;
}

export async function outboxStatus(pool: Pool): Promise<OutboxStatus> {
  const { rows } = await pool.query({
    name: 'directory-status',
    text: `SELECT (SELECT count(*) FROM directory_outbox WHERE published_at IS NULL)::int AS pending,
                  (SELECT count(*) FROM directory_outbox WHERE published_at IS NULL AND attempts > 0)::int AS failing,
                  (SELECT max(published_at) FROM directory_outbox WHERE published_at IS NOT NULL) AS last_published_at,
                  o.id::text, o.kind, o.enqueued_at, o.attempts, o.last_error,
                  extract(epoch FROM clock_timestamp() - o.enqueued_at)::float8 AS age
             FROM (SELECT 1) one
             LEFT JOIN LATERAL (
               SELECT * FROM directory_outbox WHERE published_at IS NULL ORDER BY id LIMIT 1
             ) o ON true`,
  });
  const r = rows[0];
  return {
    pending: r.pending,
    failing: r.failing,
    ...(r.id === null
      ? {}
      : {
          oldestPending: {
            id: r.id,
            kind: r.kind,
            enqueuedAt: (r.enqueued_at as Date).toISOString(),
            ageSeconds: Math.round(r.age * 1000) / 1000,
            attempts: r.attempts,
            ...(r.last_error === null ? {} : { lastError: r.last_error }),
          },
        }),
    ...(r.last_published_at === null ? {} : { lastPublishedAt: (r.last_published_at as Date).toISOString() }),
  };
}
