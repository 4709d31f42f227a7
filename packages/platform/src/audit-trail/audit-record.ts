import { createHash } from 'node:crypto';

/**
 * One audit_log row as the chain commits to it, every field as text exactly as an export carries
 * it, so an offline verifier recomputes the same bytes:
 * - id: the row id in decimal;
 * - at: the timestamp in UTC with microseconds, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (all six digits);
 * - actor, actorRole, action, subjectType, subjectId: as stored;
 * - before, after: PostgreSQL's text output of the jsonb value (keys sorted and spaced as jsonb
 *   normalises them), or null.
 */
export interface AuditRecord {
  id: string;
  at: string;
  actor: string;
  actorRole: string;
  action: string;
  subjectType: string;
  subjectId: string;
  before: string | null;
  after: string | null;
}

/** A place in the chain and what it holds; `record` is absent when the row it names is gone. */
export interface ChainLink {
  seq: number;
  auditId: string;
  /** 32 bytes, hex. */
  prevHash: string;
  hash: string;
  record?: AuditRecord;
}

/** prev_hash of seq 1. */
export const GENESIS_HASH = '0'.repeat(64);

/** The columns of `audit_log a` in AuditRecord's text forms; the jsonb text is PostgreSQL's own. */
export const AUDIT_RECORD_COLUMNS = `a.id::text AS id,
  to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at,
  a.actor, a.actor_role, a.action, a.subject_type, a.subject_id,
  a.before::text AS before, a.after::text AS after`;

export function auditRecordFromRow(row: Record<string, string | null>): AuditRecord {
  return {
    id: row.id as string,
    at: row.at as string,
    actor: row.actor as string,
    actorRole: row.actor_role as string,
    action: row.action as string,
    subjectType: row.subject_type as string,
    subjectId: row.subject_id as string,
    before: row.before ?? null,
    after: row.after ?? null,
  };
}

const NULL_FIELD = 0xffff_ffff;

/**
 * Canonical bytes of a record: its nine fields in the order of AuditRecord, each as a 4-byte
 * big-endian length followed by its UTF-8 bytes; a null field (before/after only) is the length
 * 0xFFFFFFFF and no bytes. Lengths make the encoding unambiguous whatever the fields contain.
 */
export function canonicalRecordBytes(record: AuditRecord): Buffer {
  const fields = [
    record.id,
    record.at,
    record.actor,
    record.actorRole,
    record.action,
    record.subjectType,
    record.subjectId,
    record.before,
    record.after,
  ];
  const parts: Buffer[] = [];
  for (const field of fields) {
    const length = Buffer.alloc(4);
    if (field === null) {
      length.writeUInt32BE(NULL_FIELD);
      parts.push(length);
    } else {
      const bytes = Buffer.from(field, 'utf8');
      length.writeUInt32BE(bytes.length);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

/**
 * SM3(prev_hash ‖ seq as 8 bytes big-endian ‖ canonical record bytes), hex. The position is
 * hashed too, so a record moved elsewhere in the chain no longer matches its seal.
 */
export function chainHash(prevHash: string, seq: number, record: AuditRecord): string {
  const position = Buffer.alloc(8);
  position.writeBigUInt64BE(BigInt(seq));
  return createHash('sm3')
    .update(Buffer.from(prevHash, 'hex'))
    .update(position)
    .update(canonicalRecordBytes(record))
    .digest('hex');
}
