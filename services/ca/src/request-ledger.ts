import { createHash } from 'node:crypto';
import { AppError, canonicalJson } from '@sm2ca/platform';
import type { Pool, PoolClient } from '@sm2ca/store';

export interface LedgerEntry {
  requestId: string;
  operation: string;
  issuerId: string | null;
  serial: string | null;
  response: unknown;
}

/**
 * What an instruction asks for, without its envelope: a retry of the same
 * request (new timestamp, same content) has the same digest.
 */
export function instructionDigest(body: Record<string, unknown>): Buffer {
  const { timestamp: _timestamp, ...content } = body;
  return createHash('sm3').update(canonicalJson(content)).digest();
}

/**
 * The ledger row of this request id (locked for the rest of the transaction
 * unless told otherwise), or undefined if the id is new. The same id with other content is refused: a
 * request id names exactly one instruction, forever.
 */
export async function findInstruction(
  db: Pool | PoolClient,
  requestId: string,
  digest: Buffer,
  options: { lock: boolean } = { lock: true },
): Promise<LedgerEntry | undefined> {
  const { rows } = await db.query(
    `SELECT request_id, operation, body_digest, issuer_id, serial, response
       FROM ca_requests WHERE request_id = $1 ${options.lock ? 'FOR UPDATE' : ''}`,
    [requestId],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (!digest.equals(row.body_digest)) {
    throw new AppError(
      'REQUEST_ID_REUSED',
      `request id ${requestId} was already used for a different instruction`,
      409,
    );
  }
  return {
    requestId,
    operation: row.operation,
    issuerId: row.issuer_id,
    serial: row.serial,
    response: row.response,
  };
}

/** Records a new instruction; false when a concurrent twin recorded it first. */
export async function recordInstruction(
  client: PoolClient,
  entry: { requestId: string; operation: string; digest: Buffer; issuerId?: string; serial?: string },
): Promise<boolean> {
  const inserted = await client.query(
    `INSERT INTO ca_requests (request_id, operation, body_digest, issuer_id, serial)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) DO NOTHING`,
    [entry.requestId, entry.operation, entry.digest, entry.issuerId ?? null, entry.serial ?? null],
  );
  return inserted.rowCount === 1;
}

export async function completeInstruction(
  client: PoolClient,
  requestId: string,
  response: unknown,
): Promise<void> {
  await client.query('UPDATE ca_requests SET response = $2 WHERE request_id = $1', [
    requestId,
    JSON.stringify(response),
  ]);
}
