import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AppError, errorResponse, keyReuseRefusals } from '@sm2ca/platform';
import { parse } from 'csv-parse/sync';
import {
  type EntryContext,
  type TemplateLookup,
  type VettedEntry,
  vetEntryButKey,
} from './application-entry.ts';
import { templateForApplication } from './certificate-templates.ts';
import { HolderSchema, holderTypes, IdentitySchema, profilesByHolderType } from './holder-identity.ts';
import { templateName } from './template-body.ts';

/** The capacity: one batch carries up to this many rows. */
export const maxBatchRows = 10_000;

export const BatchRowSchema = Type.Object(
  {
    holderType: Type.Union(holderTypes.map((type) => Type.Literal(type))),
    profile: Type.String({ minLength: 1, maxLength: 64 }),
    template: Type.Optional(
      templateName("the template to issue under, of the profile's kind; absent: the profile's own"),
    ),
    holder: HolderSchema,
    csr: Type.String({ minLength: 1, maxLength: 16_384, description: 'PKCS#10, PEM or base64 DER' }),
    publishConsent: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type BatchRow = Static<typeof BatchRowSchema>;

export interface GoodRow extends VettedEntry {
  rowNumber: number;
  row: BatchRow;
}

export interface BadRow {
  rowNumber: number;
  code: string;
  message: string;
}

const holderColumns = Object.keys(HolderSchema.properties).filter((name) => name !== 'identity');
const identityColumns = Object.keys(IdentitySchema.properties);
const listColumns = new Set(['dnsNames', 'ipAddresses']);
const knownProfiles = new Set<string>(Object.values(profilesByHolderType).flat());

/**
 * CSV rows as batch rows: a header line names the columns (holderType, profile, csr,
 * publishConsent, the holder's fields and identity numbers by their JSON names; dnsNames and
 * ipAddresses space-separated). Empty cells are absent fields. A row that does not fit stays
 * as it is, for the row check to report.
 */
export function rowsOfCsv(text: string): unknown[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    throw new AppError('BATCH_MALFORMED', `the CSV cannot be read: ${(err as Error).message}`, 400);
  }
  return records.map((record) => {
    const holder: Record<string, unknown> = {};
    const identity: Record<string, string> = {};
    const row: Record<string, unknown> = { holder };
    for (const [column, value] of Object.entries(record)) {
      if (value === '') continue;
      if (identityColumns.includes(column)) identity[column] = value;
      else if (listColumns.has(column)) holder[column] = value.split(/\s+/);
      else if (holderColumns.includes(column)) holder[column] = value;
      else if (column === 'publishConsent') row[column] = /^(true|yes|1)$/i.test(value);
      else row[column] = value;
    }
    if (Object.keys(identity).length > 0) holder.identity = identity;
    return row;
  });
}

/** The rows of a JSON batch body, `{ rows: [...] }`. */
export function rowsOfJson(body: unknown): unknown[] {
  const rows = (body as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(rows)) throw new AppError('BATCH_MALFORMED', 'a JSON batch is { "rows": [ ... ] }', 400);
  return rows;
}

export function checkRowCount(rows: unknown[]): void {
  if (rows.length === 0) throw new AppError('BATCH_EMPTY', 'the batch has no rows', 400);
  if (rows.length > maxBatchRows) {
    throw new AppError('BATCH_TOO_LARGE', `a batch carries at most ${maxBatchRows} rows`, 413, {
      rows: rows.length,
    });
  }
}

/** A row refused as the single path answers the same input (a 4xx code); anything else fails the batch. */
function bad(rowNumber: number, err: unknown): BadRow {
  const { status, body } = errorResponse(err);
  if (status >= 500) throw err;
  return { rowNumber, code: body.error.code, message: body.error.message };
}

async function vetRow(ctx: EntryContext, templateOf: TemplateLookup, raw: unknown, rowNumber: number) {
  if (!Value.Check(BatchRowSchema, raw)) {
    const first = Value.Errors(BatchRowSchema, raw).First();
    return {
      rowNumber,
      code: 'ROW_MALFORMED',
      message: first ? `${first.path || '/'}: ${first.message}` : 'the row does not fit the batch row schema',
    };
  }
  if (!knownProfiles.has(raw.profile)) {
    return { rowNumber, code: 'PROFILE_UNKNOWN', message: `no holder profile ${raw.profile}` };
  }
  try {
    const entry = await vetEntryButKey(ctx, { ...raw, dual: false }, templateOf);
    return { rowNumber, row: raw, ...entry };
  } catch (err) {
    return bad(rowNumber, err);
  }
}

/**
 * Each row checked as a single application is, then against the rows before it: a second row
 * for the same key, or for the same holder and profile, is a duplicate. Rows are numbered from 1.
 * The keys of all rows are looked up for reuse in one query rather than one each.
 */
export async function vetRows(
  ctx: EntryContext,
  rows: unknown[],
  concurrency = 8,
): Promise<{ good: GoodRow[]; bad: BadRow[] }> {
  const results: (GoodRow | BadRow)[] = new Array(rows.length);
  // A batch names a handful of templates in thousands of rows: each looked up once per submission.
  const templates = new Map<string, ReturnType<TemplateLookup>>();
  const templateOf: TemplateLookup = (name, version) => {
    const key = `${name}@${version ?? 'newest'}`;
    let found = templates.get(key);
    if (!found) {
      found = templateForApplication(ctx.pool, name, version);
      found.catch(() => {});
      templates.set(key, found);
    }
    return found;
  };
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const index = next++;
      results[index] = await vetRow(ctx, templateOf, rows[index], index + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  const vetted = results.filter((result): result is GoodRow => 'row' in result);
  const refusals = new Map(
    (
      await keyReuseRefusals(
        ctx.pool,
        vetted.map((v) => v.key),
      )
    ).map((refusal, i) => [vetted[i]!, refusal]),
  );
  const good: GoodRow[] = [];
  const badRows: BadRow[] = [];
  const keys = new Map<string, number>();
  const holders = new Map<string, number>();
  for (const result of results) {
    if (!('row' in result)) {
      badRows.push(result);
      continue;
    }
    const refusal = refusals.get(result);
    if (refusal) {
      badRows.push(bad(result.rowNumber, refusal));
      continue;
    }
    const key = result.key.spkiSha256.toString('hex');
    const holder = `${result.vetted.holderKey}\u0000${result.vetted.profile.id}`;
    const first = keys.get(key) ?? holders.get(holder);
    if (first !== undefined) {
      badRows.push({
        rowNumber: result.rowNumber,
        code: 'ROW_DUPLICATE',
        message: `row ${result.rowNumber} repeats the key or the holder and profile of row ${first}`,
      });
      continue;
    }
    keys.set(key, result.rowNumber);
    holders.set(holder, result.rowNumber);
    good.push(result);
  }
  return { good, bad: badRows };
}
