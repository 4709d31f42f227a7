import type { PoolClient } from '@sm2ca/store';

/** Channel the OCSP responder and the CRL publisher LISTEN on. */
export const statusChannel = 'certificate_status';

/**
 * Outbox row plus NOTIFY, both inside the status change's transaction:
 * listeners hear of it only if it committed, and a listener that was down reads
 * the outbox on start.
 */
export async function publishStatus(
  client: PoolClient,
  event: { issuerId: string; serial: string; status: string },
): Promise<void> {
  const { rows } = await client.query(
    'INSERT INTO certificate_events (issuer_id, serial, status) VALUES ($1, $2, $3) RETURNING id',
    [event.issuerId, event.serial, event.status],
  );
  await client.query('SELECT pg_notify($1, $2)', [
    statusChannel,
    JSON.stringify({ id: String(rows[0].id), ...event }),
  ]);
}

/**
 * publishStatus as CTEs for a single-statement status change: one outbox row and
 * one NOTIFY per row of `source` (which has issuer_id and serial). The statement
 * must select from `notified`, or PostgreSQL skips the NOTIFY.
 */
export function statusEventSql(source: string, status: string): string {
  return `event AS (
      INSERT INTO certificate_events (issuer_id, serial, status)
      SELECT issuer_id, serial, ${status} FROM ${source}
      RETURNING id, issuer_id, serial, status
    ), notified AS (
      SELECT pg_notify('${statusChannel}',
        json_build_object('id', id::text, 'issuerId', issuer_id, 'serial', serial, 'status', status)::text)
      FROM event
    )`;
}

/** Channel the OCSP responder LISTENs on to take up a new signer at once, not at its next sweep. */
export const issuersChannel = 'issuers_changed';

/** NOTIFY only: listeners that missed it reload the issuers on their periodic sweep. */
export async function publishIssuerCreated(client: PoolClient, issuerId: string): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [issuersChannel, JSON.stringify({ issuerId })]);
}
