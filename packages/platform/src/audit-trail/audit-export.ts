import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Pool } from '@sm2ca/store';
import { AppError } from '../app-error.ts';
import { auditTrust, readChain } from './audit-chain-reader.ts';
import { type Checkpoint, checkpointLine, loadCheckpoints } from './audit-checkpoint.ts';
import type { AuditRecord, ChainLink } from './audit-record.ts';
import type { AuditTrust } from './audit-verifier.ts';

/**
 * An export is JSON lines: the certificates a verifier needs (`{"type":"certificate","issuerId",
 * "kind":"audit"|"root"|"subordinate","der":base64}`), the checkpoints within the range (lines as
 * in checkpoints.jsonl, seq from one before the first record to the last), then the records in
 * chain order (`{"type":"record","seq","auditId","prevHash","hash","record":{AuditRecord}}`, the
 * record left out when its row is gone from the database).
 */
/** Records stamped from `from` up to `to` inclusive, or up to `before` exclusive (a calendar month). */
export type ExportRange = { from: Date; to: Date } | { from: Date; before: Date };

/** What an export wrote; first and last are the seqs of its records (null when it has none). */
export interface ExportSummary {
  records: number;
  checkpoints: number;
  first: number | null;
  last: number | null;
}

/**
 * The contiguous part of the chain from the first record stamped at or after `from` to the
 * last stamped at or before `to`. Chain order is commit order, not timestamp order, so a record
 * just outside the window can sit inside the part; it stays, or the links would break.
 */
export async function exportAudit(
  pool: Pool,
  range: ExportRange,
  write: (line: string) => void | Promise<void>,
): Promise<ExportSummary> {
  const { rows } = await pool.query(
    `SELECT min(c.seq) AS first, max(c.seq) AS last
       FROM audit_log a JOIN audit_chain c ON c.audit_id = a.id
      WHERE a.at >= $1 AND ($2::timestamptz IS NULL OR a.at <= $2) AND ($3::timestamptz IS NULL OR a.at < $3)`,
    [range.from, 'to' in range ? range.to : null, 'before' in range ? range.before : null],
  );
  const trust = await auditTrust(pool);
  const certificates = [
    ...[...trust.auditCertificates].map(([issuerId, der]) => ({ issuerId, kind: 'audit', der })),
    ...trust.trustAnchors.map((der) => ({ issuerId: '', kind: 'root', der })),
    ...trust.intermediates.map((der) => ({ issuerId: '', kind: 'subordinate', der })),
  ];
  for (const c of certificates) {
    await write(
      JSON.stringify({
        type: 'certificate',
        ...(c.issuerId ? { issuerId: c.issuerId } : {}),
        kind: c.kind,
        der: Buffer.from(c.der).toString('base64'),
      }),
    );
  }
  if (rows[0].first === null) return { records: 0, checkpoints: 0, first: null, last: null };
  const first = Number(rows[0].first);
  const last = Number(rows[0].last);
  const checkpoints = (await loadCheckpoints(pool)).filter((c) => c.seq >= first - 1 && c.seq <= last);
  for (const c of checkpoints) await write(checkpointLine(c));
  let records = 0;
  for await (const link of readChain(pool, { from: first, to: last })) {
    await write(JSON.stringify({ type: 'record', ...link }));
    records++;
  }
  return { records, checkpoints: checkpoints.length, first, last };
}

/** What an export holds besides its records. */
export interface ExportContents extends AuditTrust {
  checkpoints: Checkpoint[];
  /** The records, read again from the file in its order. */
  links(): AsyncGenerator<ChainLink>;
}

async function* jsonLines(file: string): AsyncGenerator<{ line: number; value: Record<string, unknown> }> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw malformed(file, line, 'not JSON');
    }
    if (typeof value !== 'object' || value === null) throw malformed(file, line, 'not an object');
    yield { line, value: value as Record<string, unknown> };
  }
}

function malformed(file: string, line: number, why: string): AppError {
  return new AppError('AUDIT_EXPORT_MALFORMED', `${file} line ${line}: ${why}`, 400);
}

const isHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A checkpoint line of an export or of a checkpoints.jsonl file, or undefined when it is none. */
export function parseCheckpoint(value: Record<string, unknown>): Checkpoint | undefined {
  const { seq, head, at, issuerId, signature, madeBy } = value;
  if (value.type !== 'checkpoint' || !isSeq(seq) || !isHash(head)) return undefined;
  if (typeof at !== 'string' || typeof issuerId !== 'string' || typeof signature !== 'string')
    return undefined;
  return { seq, head, at, issuerId, signature, madeBy: typeof madeBy === 'string' ? madeBy : '' };
}

const recordFields = [
  'id',
  'at',
  'actor',
  'actorRole',
  'action',
  'subjectType',
  'subjectId',
] as const satisfies readonly (keyof AuditRecord)[];

function parseRecord(value: unknown): AuditRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (!recordFields.every((f) => typeof r[f] === 'string')) return undefined;
  const json = (v: unknown) => (v === null || typeof v === 'string' ? v : undefined);
  const before = json(r.before);
  const after = json(r.after);
  if (before === undefined || after === undefined) return undefined;
  return {
    id: r.id as string,
    at: r.at as string,
    actor: r.actor as string,
    actorRole: r.actorRole as string,
    action: r.action as string,
    subjectType: r.subjectType as string,
    subjectId: r.subjectId as string,
    before,
    after,
  };
}

/** Checkpoints from a checkpoints.jsonl file (the copy outside the database). */
export async function readCheckpointFile(file: string): Promise<Checkpoint[]> {
  const checkpoints: Checkpoint[] = [];
  for await (const { line, value } of jsonLines(file)) {
    const checkpoint = parseCheckpoint(value);
    if (!checkpoint) throw malformed(file, line, 'not a checkpoint');
    checkpoints.push(checkpoint);
  }
  return checkpoints;
}

/** Reads an export's certificates and checkpoints; its records are read again by links(). */
export async function readExport(file: string): Promise<ExportContents> {
  const contents: ExportContents = {
    auditCertificates: new Map(),
    trustAnchors: [],
    intermediates: [],
    checkpoints: [],
    links: () => exportLinks(file),
  };
  for await (const { line, value } of jsonLines(file)) {
    if (value.type === 'certificate') {
      if (typeof value.der !== 'string') throw malformed(file, line, 'certificate without der');
      const der = new Uint8Array(Buffer.from(value.der, 'base64'));
      if (value.kind === 'audit' && typeof value.issuerId === 'string')
        contents.auditCertificates.set(value.issuerId, der);
      else if (value.kind === 'root') contents.trustAnchors.push(der);
      else if (value.kind === 'subordinate') contents.intermediates.push(der);
      else throw malformed(file, line, 'unknown certificate kind');
    } else if (value.type === 'checkpoint') {
      const checkpoint = parseCheckpoint(value);
      if (!checkpoint) throw malformed(file, line, 'incomplete checkpoint');
      contents.checkpoints.push(checkpoint);
    } else if (value.type !== 'record') {
      throw malformed(file, line, `unknown line type ${JSON.stringify(value.type)}`);
    }
  }
  return contents;
}

async function* exportLinks(file: string): AsyncGenerator<ChainLink> {
  for await (const { line, value } of jsonLines(file)) {
    if (value.type !== 'record') continue;
    const { seq, auditId, prevHash, hash } = value;
    if (!isSeq(seq) || typeof auditId !== 'string' || !isHash(prevHash) || !isHash(hash))
      throw malformed(file, line, 'incomplete record');
    const record = value.record === undefined ? undefined : parseRecord(value.record);
    if (value.record !== undefined && !record) throw malformed(file, line, 'incomplete record');
    yield { seq, auditId, prevHash, hash, ...(record ? { record } : {}) };
  }
}
