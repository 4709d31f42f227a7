import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from '@sm2ca/store';
import { from as copyFrom } from 'pg-copy-streams';
import type { CrlKind, PublishedState } from './crl-schedule.ts';

export interface ArchivedCrl {
  issuerId: string;
  number: bigint;
  kind: CrlKind;
  baseNumber?: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  entryCount: number;
  sm3: Buffer;
  publishedAt: Date;
  publisher: string;
}

const META_COLUMNS =
  'issuer_id, crl_number, kind, base_crl_number, this_update, next_update, entry_count, sm3, published_at, publisher';

function toArchived(row: Record<string, unknown>): ArchivedCrl {
  return {
    issuerId: row.issuer_id as string,
    number: BigInt(row.crl_number as string),
    kind: row.kind as CrlKind,
    ...(row.base_crl_number === null ? {} : { baseNumber: BigInt(row.base_crl_number as string) }),
    thisUpdate: row.this_update as Date,
    nextUpdate: row.next_update as Date,
    entryCount: row.entry_count as number,
    sm3: row.sm3 as Buffer,
    publishedAt: row.published_at as Date,
    publisher: row.publisher as string,
  };
}

/**
 * The next cRLNumber of the issuer, shared by full and delta CRLs. The row stays locked
 * until the caller's transaction ends, so publications of one issuer run one at a time
 * and in number order whoever runs them; the archive's primary key backs this up.
 */
export async function allocateCrlNumber(client: PoolClient, issuerId: string): Promise<bigint> {
  const { rows } = await client.query(
    `INSERT INTO crl_numbers (issuer_id, last_number) VALUES ($1, 1)
     ON CONFLICT (issuer_id) DO UPDATE SET last_number = crl_numbers.last_number + 1
     RETURNING last_number`,
    [issuerId],
  );
  return BigInt(rows[0].last_number);
}

export async function latestFullNumber(client: PoolClient, issuerId: string): Promise<bigint | undefined> {
  const { rows } = await client.query(
    "SELECT max(crl_number) AS number FROM crls WHERE issuer_id = $1 AND kind = 'full'",
    [issuerId],
  );
  return rows[0].number === null ? undefined : BigInt(rows[0].number);
}

// The archive row as COPY's binary format: the DER goes to the server part by part, where an
// INSERT parameter would first be copied, whole, into one protocol message.
const ARCHIVE_COPY = `COPY crls (issuer_id, crl_number, kind, base_crl_number, this_update, next_update,
                                 entry_count, sm3, publisher, der) FROM STDIN (FORMAT binary)`;
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);

/** Archives a CRL given as the consecutive parts of its DER; returns when it was published. */
export async function archiveCrl(
  client: PoolClient,
  crl: Omit<ArchivedCrl, 'publishedAt'> & { der: readonly Buffer[] },
): Promise<Date> {
  let derLength = 0;
  for (const part of crl.der) derLength += part.length;
  const fields = [
    Buffer.from(crl.issuerId),
    int64(crl.number),
    Buffer.from(crl.kind),
    crl.baseNumber === undefined ? null : int64(crl.baseNumber),
    int64(BigInt(crl.thisUpdate.getTime() - POSTGRES_EPOCH_MS) * 1000n),
    int64(BigInt(crl.nextUpdate.getTime() - POSTGRES_EPOCH_MS) * 1000n),
    int32(crl.entryCount),
    crl.sm3,
    Buffer.from(crl.publisher),
  ];
  const head = [COPY_SIGNATURE, int32(0), int32(0), int16(fields.length + 1)];
  for (const field of fields)
    head.push(field === null ? int32(-1) : int32(field.length), ...(field ? [field] : []));
  head.push(int32(derLength));
  await pipeline(
    Readable.from([Buffer.concat(head), ...crl.der, int16(-1)]),
    client.query(copyFrom(ARCHIVE_COPY)),
  );
  const { rows } = await client.query(
    'SELECT published_at FROM crls WHERE issuer_id = $1 AND crl_number = $2',
    [crl.issuerId, String(crl.number)],
  );
  return rows[0].published_at;
}

function int16(value: number): Buffer {
  const out = Buffer.allocUnsafe(2);
  out.writeInt16BE(value);
  return out;
}

function int32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeInt32BE(value);
  return out;
}

function int64(value: bigint): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeBigInt64BE(value);
  return out;
}

export async function latestCrl(
  pool: Pool,
  issuerId: string,
  kind: CrlKind,
): Promise<ArchivedCrl | undefined> {
  const { rows } = await pool.query(
    `SELECT ${META_COLUMNS} FROM crls WHERE issuer_id = $1 AND kind = $2 ORDER BY crl_number DESC LIMIT 1`,
    [issuerId, kind],
  );
  return rows[0] ? toArchived(rows[0]) : undefined;
}

export async function crlByNumber(
  pool: Pool,
  issuerId: string,
  number: bigint,
): Promise<ArchivedCrl | undefined> {
  const { rows } = await pool.query(
    `SELECT ${META_COLUMNS} FROM crls WHERE issuer_id = $1 AND crl_number = $2`,
    [issuerId, String(number)],
  );
  return rows[0] ? toArchived(rows[0]) : undefined;
}

export async function crlDer(pool: Pool, issuerId: string, number: bigint): Promise<Buffer | undefined> {
  const { rows } = await pool.query('SELECT der FROM crls WHERE issuer_id = $1 AND crl_number = $2', [
    issuerId,
    String(number),
  ]);
  return rows[0]?.der;
}

/** The issuer's latest full CRL and the thisUpdate of its latest CRL of either kind, for the schedule. */
export async function publishedState(pool: Pool, issuerId: string): Promise<PublishedState> {
  const { rows } = await pool.query(
    `SELECT f.this_update, f.next_update,
            (SELECT this_update FROM crls WHERE issuer_id = $1 ORDER BY crl_number DESC LIMIT 1) AS last_any
       FROM (SELECT 1) one
       LEFT JOIN LATERAL (SELECT this_update, next_update FROM crls
                           WHERE issuer_id = $1 AND kind = 'full' ORDER BY crl_number DESC LIMIT 1) f ON true`,
    [issuerId],
  );
  const row = rows[0];
  return {
    ...(row.this_update ? { full: { thisUpdate: row.this_update, nextUpdate: row.next_update } } : {}),
    ...(row.last_any ? { lastAny: row.last_any } : {}),
  };
}

const CURRENT_TTL_MS = 1_000;
/** Current full and delta CRL of a root and a couple of sub-CAs. */
const DER_CACHE_SIZE = 6;

/**
 * What the HTTP side reads. Any replica serves from the archive, so it needs no leadership;
 * the current CRL's metadata is re-read at most once a second and its DER only when the
 * number changes, so a busy responder neither floods the database nor re-reads large CRLs.
 */
export class CrlArchiveReader {
  #current = new Map<string, { at: number; value: Promise<ArchivedCrl | undefined> }>();
  #der = new Map<string, Promise<Buffer | undefined>>();

  constructor(private readonly pool: Pool) {}

  current(issuerId: string, kind: CrlKind): Promise<ArchivedCrl | undefined> {
    const key = `${issuerId}/${kind}`;
    const cached = this.#current.get(key);
    if (cached && Date.now() - cached.at < CURRENT_TTL_MS) return cached.value;
    const value = latestCrl(this.pool, issuerId, kind);
    this.#current.set(key, { at: Date.now(), value });
    value.catch(() => this.#current.delete(key));
    return value;
  }

  byNumber(issuerId: string, number: bigint): Promise<ArchivedCrl | undefined> {
    return crlByNumber(this.pool, issuerId, number);
  }

  /** An old CRL asked for by number: read once, not cached, as such requests are rare. */
  archivedDer(crl: ArchivedCrl): Promise<Buffer | undefined> {
    return crlDer(this.pool, crl.issuerId, crl.number);
  }

  /** The DER of a current CRL, kept for the few CRLs that are current at any time. */
  der(crl: ArchivedCrl): Promise<Buffer | undefined> {
    const key = `${crl.issuerId}/${crl.number}`;
    let value = this.#der.get(key);
    if (value) {
      this.#der.delete(key);
    } else {
      value = crlDer(this.pool, crl.issuerId, crl.number);
      value.catch(() => this.#der.delete(key));
    }
    this.#der.set(key, value);
    for (const oldest of this.#der.keys()) {
      if (this.#der.size <= DER_CACHE_SIZE) break;
      this.#der.delete(oldest);
    }
    return value;
  }
}
