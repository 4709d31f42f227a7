import { createHash } from 'node:crypto';
import type { KsRequest } from '@sm2ca/pki';
import type { Pool, PoolClient } from '@sm2ca/store';
import { kmRefusal } from './km-refusal.ts';

/**
 * What a request asks for, without its requestTime: a retry of the same task (re-signed at
 * another time, same content) has the same digest.
 */
export function requestDigest(request: KsRequest): Buffer {
  const content = JSON.stringify(
    { caName: request.caName, taskNo: request.taskNo, requests: request.requests },
    (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value),
  );
  return createHash('sm3').update(content).digest();
}

export interface LedgerEntry {
  taskNo: string;
  /** The KMRespond DER given for it, once built. */
  response: Buffer | null;
}

/**
 * The ledger row of a known task. The same task number with other content is a replay: a task
 * number names exactly one request, forever.
 */
export async function findRequest(
  db: Pool | PoolClient,
  taskNo: string,
  digest: Buffer,
): Promise<LedgerEntry | undefined> {
  const { rows } = await db.query({
    name: 'km-find-request',
    text: 'SELECT body_digest, response FROM km_requests WHERE task_no = $1',
    values: [taskNo],
  });
  const row = rows[0];
  if (!row) return undefined;
  if (!digest.equals(row.body_digest)) {
    throw kmRefusal('REPLAYED', `task ${taskNo} was already used for a different request`, { taskNo });
  }
  return { taskNo, response: row.response };
}

/**
 * Records a new request in the transaction of the state change it asks for; false when a
 * concurrent twin recorded it first (this insert waited for it to commit).
 */
export async function recordRequest(
  client: PoolClient,
  entry: { taskNo: string; callerId: string; callerSerial: string; caName: string; digest: Buffer },
): Promise<boolean> {
  const inserted = await client.query({
    name: 'km-record-request',
    text: `INSERT INTO km_requests (task_no, caller_id, caller_serial, ca_name, body_digest)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (task_no) DO NOTHING`,
    values: [entry.taskNo, entry.callerId, entry.callerSerial, entry.caName, entry.digest],
  });
  return inserted.rowCount === 1;
}

/**
 * Keeps the first answer built for the task; a twin that built another meanwhile gets the
 * kept one, so every answer to a task is the same.
 */
export async function keepResponse(pool: Pool, taskNo: string, response: Uint8Array): Promise<Buffer> {
  const { rows } = await pool.query({
    name: 'km-keep-response',
    text: `WITH kept AS (
             UPDATE km_requests SET response = $2 WHERE task_no = $1 AND response IS NULL RETURNING response
           )
           SELECT response FROM kept
           UNION ALL SELECT response FROM km_requests WHERE task_no = $1 AND NOT EXISTS (SELECT FROM kept)`,
    values: [taskNo, Buffer.from(response)],
  });
  if (rows[0].response) return rows[0].response as Buffer;
  // The twin committed its answer while this UPDATE waited for its row: the statement's
  // snapshot still shows none, a new one shows the twin's.
  const kept = await pool.query('SELECT response FROM km_requests WHERE task_no = $1', [taskNo]);
  return kept.rows[0].response as Buffer;
}
