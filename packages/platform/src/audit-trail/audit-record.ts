import crypto from 'node:crypto';

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

/** One-shot crypto.hash (Node 20.12 and later) saves a Hash object per record; older Node makes one. */
const sm3Hex: (data: Buffer) => string =
  'hash' in crypto
    ? (data) => crypto.hash('sm3', data, 'hex')
    : (data) => crypto.createHash('sm3').update(data).digest('hex');

const fieldsOf = (r: AuditRecord) => [
  r.id,
  r.at,
  r.actor,
  r.actorRole,
  r.action,
  r.subjectType,
  r.subjectId,
  r.before,
  r.after,
];

/** Writes the canonical bytes of `record` at `offset` of `out` (sized by canonicalLength); answers the end. */
function writeCanonical(record: AuditRecord, out: Buffer, offset: number): number {
  let at = offset;
  for (const field of fieldsOf(record)) {
    if (field === null) {
      at = out.writeUInt32BE(NULL_FIELD, at);
    } else {
      const length = out.write(field, at + 4, 'utf8');
      out.writeUInt32BE(length, at);
      at += 4 + length;
    }
  }
  return at;
}

function canonicalLength(record: AuditRecord): number {
  let length = 0;
  for (const field of fieldsOf(record)) length += 4 + (field === null ? 0 : Buffer.byteLength(field, 'utf8'));
  return length;
}

/**
 * Canonical bytes of a record: its nine fields in the order of AuditRecord, each as a 4-byte
 * big-endian length followed by its UTF-8 bytes; a null field (before/after only) is the length
 * 0xFFFFFFFF and no bytes. Lengths make the encoding unambiguous whatever the fields contain.
 */
export function canonicalRecordBytes(record: AuditRecord): Buffer {
  const out = Buffer.alloc(canonicalLength(record));
  writeCanonical(record, out, 0);
  return out;
}

/**
 * SM3(prev_hash ‖ seq as 8 bytes big-endian ‖ canonical record bytes), hex. The position is
 * hashed too, so a record moved elsewhere in the chain no longer matches its seal. Built in one
 * buffer and hashed in one call: verification runs this a million times.
 */
export function chainHash(prevHash: string, seq: number, record: AuditRecord): string {
  const out = Buffer.allocUnsafe(40 + canonicalLength(record));
  out.write(prevHash, 0, 32, 'hex');
  out.writeBigUInt64BE(BigInt(seq), 32);
  writeCanonical(record, out, 40);
  return sm3Hex(out);
}
