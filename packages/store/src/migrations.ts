import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from './pool.ts';
import { StoreError } from './store-error.ts';
import { withTransaction } from './transaction.ts';

export interface MigrationFile {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

/** Serialises migration runs of several processes starting at once (services, CLI). */
const MIGRATION_LOCK = 0x534d3243; // "SM2C"

export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const match = /^(\d{4})_[a-z0-9_]+\.sql$/.exec(name);
    if (!match) throw new StoreError('MIGRATION_NAME', `migration file ${name} is not named NNNN_name.sql`);
    const sql = await readFile(join(dir, name), 'utf8');
    const version = Number(match[1]);
    if (files.at(-1)?.version === version) {
      throw new StoreError('MIGRATION_NAME', `two migrations share version ${match[1]}`);
    }
    files.push({ version, name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return files;
}

/**
 * Applies the numbered SQL files in order, each in its own transaction together
 * with its record in schema_migrations. A landed migration must never change:
 * if a recorded checksum differs from the file, nothing runs.
 */
export async function migrate(pool: Pool, dir: string): Promise<MigrationResult> {
  const files = await readMigrations(dir);
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const exists = await lock.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
    const recorded = new Map<number, { name: string; checksum: string }>();
    if (exists.rows[0].present) {
      const rows = await lock.query('SELECT version, name, checksum FROM schema_migrations');
      for (const row of rows.rows) recorded.set(row.version, row);
    }
    for (const file of files) {
      const landed = recorded.get(file.version);
      if (landed && landed.checksum !== file.checksum) {
        throw new StoreError(
          'MIGRATION_EDITED',
          `migration ${file.name} was edited after it was applied (checksum differs); add a new migration instead`,
        );
      }
    }
    const known = new Set(files.map((f) => f.version));
    const unknown = [...recorded.keys()].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new StoreError(
        'MIGRATION_MISSING',
        `the database has migrations this code does not know (${unknown.join(', ')}); is the code older than the database?`,
      );
    }
    const applied: string[] = [];
    for (const file of files.filter((f) => !recorded.has(f.version))) {
      await withTransaction(pool, async (client) => {
        await client.query(file.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          file.version,
          file.name,
          file.checksum,
        ]);
      });
      applied.push(file.name);
    }
    return { applied, alreadyApplied: recorded.size };
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    lock.release();
  }
}
