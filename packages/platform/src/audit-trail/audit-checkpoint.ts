import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Signer } from '@sm2ca/pki';
import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import { AppError } from '../app-error.ts';
import { AUDIT_SEAL_LOCK, chainHead, sealAuditRecords } from './audit-sealer.ts';

/** "The chain had head `head` after `seq` records", signed at `at` by the audit key of `issuerId`. */
export interface Checkpoint {
  seq: number;
  /** 32 bytes, hex; the genesis hash for seq 0. */
  head: string;
  /** ISO 8601 UTC with milliseconds, as Date#toISOString writes it. */
  at: string;
  issuerId: string;
  /** SM2-with-SM3 under the GM default signer ID over checkpointStatement(), DER, hex. */
  signature: string;
  /** The process or command that made it. */
  madeBy: string;
}

/**
 * The signed bytes, UTF-8: "sm2ca audit checkpoint\nseq <seq>\nhead <hex>\nat <at>\n". Plain text,
 * so anyone holding a checkpoint line and the audit certificate can check it with any GM tool.
 */
export function checkpointStatement(checkpoint: Pick<Checkpoint, 'seq' | 'head' | 'at'>): Buffer {
  return Buffer.from(
    `sm2ca audit checkpoint\nseq ${checkpoint.seq}\nhead ${checkpoint.head}\nat ${checkpoint.at}\n`,
    'utf8',
  );
}

/** One JSON line, as written to the checkpoint files and into exports. */
export function checkpointLine(checkpoint: Checkpoint): string {
  return JSON.stringify({ type: 'checkpoint', ...checkpoint });
}

/** The copy kept outside the database, under the data directory. */
export function checkpointFile(home: string): string {
  return join(home, 'audit', 'checkpoints.jsonl');
}

export interface CheckpointOptions {
  /** The data directory: checkpoints are appended to checkpointFile(home). */
  home: string;
  /** Another file every checkpoint is appended to (audit.checkpointSink). */
  sink?: string | undefined;
  madeBy: string;
  /** Periodic checkpoints skip a chain that has not grown since the last one. */
  onlyWhenGrown?: boolean;
}

/**
 * Seals what can be sealed, then signs the chain head with the newest audit key (in the device)
 * and keeps the checkpoint in the database and in the files outside it. The database row is
 * committed first: a checkpoint in a file but not in the table would be one verify reports.
 */
export async function makeCheckpoint(
  pool: Pool,
  signer: (keyLabel: string) => Signer,
  options: CheckpointOptions,
): Promise<Checkpoint | undefined> {
  await sealAuditRecords(pool);
  const checkpoint = await withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [AUDIT_SEAL_LOCK]);
    const head = await chainHead(client);
    if (options.onlyWhenGrown && (await lastCheckpointSeq(client)) === head.seq) return undefined;
    const issuer = await auditIssuer(client);
    const { rows } = await client.query("SELECT date_trunc('milliseconds', clock_timestamp()) AS at");
    const at = (rows[0].at as Date).toISOString();
    const statement = checkpointStatement({ seq: head.seq, head: head.hash, at });
    const signature = Buffer.from(await signer(issuer.keyLabel).sign(statement)).toString('hex');
    await client.query(
      `INSERT INTO audit_checkpoints (seq, head, at, issuer_id, signature, made_by)
       VALUES ($1, decode($2, 'hex'), $3, $4, decode($5, 'hex'), $6)`,
      [head.seq, head.hash, at, issuer.id, signature, options.madeBy],
    );
    return { seq: head.seq, head: head.hash, at, issuerId: issuer.id, signature, madeBy: options.madeBy };
  });
  if (!checkpoint) return undefined;
  const line = `${checkpointLine(checkpoint)}\n`;
  for (const file of [checkpointFile(options.home), options.sink]) {
    if (!file) continue;
    await mkdir(dirname(file), { recursive: true });
    await appendFile(file, line, { mode: 0o600 });
  }
  return checkpoint;
}

async function lastCheckpointSeq(client: PoolClient): Promise<number | undefined> {
  const { rows } = await client.query('SELECT max(seq) AS seq FROM audit_checkpoints');
  return rows[0].seq === null ? undefined : Number(rows[0].seq);
}

/** The audit key the ceremony made most recently. */
async function auditIssuer(client: PoolClient): Promise<{ id: string; keyLabel: string }> {
  const { rows } = await client.query(
    "SELECT id, key_label FROM issuers WHERE kind = 'audit' ORDER BY created_at DESC LIMIT 1",
  );
  if (!rows[0]) {
    throw new AppError(
      'AUDIT_KEY_MISSING',
      'there is no audit key to sign checkpoints with; run `sm2ca init` to make it',
      409,
    );
  }
  return { id: rows[0].id, keyLabel: rows[0].key_label };
}

/** Every checkpoint in the database, in chain order. */
export async function loadCheckpoints(db: Pool | PoolClient): Promise<Checkpoint[]> {
  const { rows } = await db.query(
    `SELECT seq, encode(head, 'hex') AS head, at, issuer_id, encode(signature, 'hex') AS signature, made_by
       FROM audit_checkpoints ORDER BY seq, id`,
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    head: r.head,
    at: (r.at as Date).toISOString(),
    issuerId: r.issuer_id,
    signature: r.signature,
    madeBy: r.made_by,
  }));
}
