import { type Actor, type AuditEntry, recordAudit } from '@sm2ca/platform';
import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import type { BackupDocument } from './backup-document.ts';

export interface BackedUpIssuer {
  id: string;
  kind: string;
  keyLabel: string;
  certificate: Uint8Array;
}

export async function loadIssuer(pool: Pool, id: string): Promise<BackedUpIssuer | undefined> {
  const { rows } = await pool.query<{ id: string; kind: string; key_label: string; certificate: Buffer }>(
    'SELECT id, kind, key_label, certificate FROM issuers WHERE id = $1',
    [id],
  );
  const row = rows[0];
  return row && { id: row.id, kind: row.kind, keyLabel: row.key_label, certificate: row.certificate };
}

export async function insertBackup(
  client: PoolClient,
  document: BackupDocument,
  actor: Actor,
): Promise<void> {
  await client.query(
    `INSERT INTO key_backups (id, issuer_id, key_label, public_key, threshold, custodians, wrapping, check_value,
       created_by, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      document.id,
      document.issuerId,
      document.keyLabel,
      Buffer.from(document.publicKey, 'base64'),
      document.threshold,
      document.custodians,
      document.wrapping,
      Buffer.from(document.checkValue, 'base64'),
      actor.name,
      document.createdAt,
    ],
  );
}

/** Whether the database recorded this very backup: same key, same custodians, same check value. */
export async function backupOnRecord(pool: Pool, document: BackupDocument): Promise<boolean> {
  const { rows } = await pool.query<{ same: boolean }>(
    `SELECT public_key = $2 AND threshold = $3 AND custodians = $4::text[] AND check_value = $5 AS same
       FROM key_backups WHERE id::text = $1`,
    [
      document.id,
      Buffer.from(document.publicKey, 'base64'),
      document.threshold,
      document.custodians,
      Buffer.from(document.checkValue, 'base64'),
    ],
  );
  return rows[0]?.same === true;
}

export interface RestoreRecord {
  backupId: string;
  tokenLabel: string;
  tokenSerial: string;
  keyLabel: string;
  custodians: string[];
}

export async function insertRestore(client: PoolClient, restore: RestoreRecord, actor: Actor): Promise<void> {
  await client.query(
    `INSERT INTO key_restores (backup_id, token_label, token_serial, key_label, custodians, restored_by)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      restore.backupId,
      restore.tokenLabel,
      restore.tokenSerial,
      restore.keyLabel,
      restore.custodians,
      actor.name,
    ],
  );
}

/**
 * Runs a backup or restore so that its refusal or failure is on record before the operator sees it:
 * the error's code and message, never a secret (no message here carries one).
 */
export async function onRecord<T>(
  pool: Pool,
  actor: Actor,
  entry: AuditEntry,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const reason = err instanceof Error ? err.message : String(err);
    try {
      await withTransaction(pool, (client) =>
        recordAudit(client, actor, {
          ...entry,
          after: { code: typeof code === 'string' ? code : null, reason },
        }),
      );
    } catch {
      // The database is what failed: the operator still gets the original error.
    }
    throw err;
  }
}
