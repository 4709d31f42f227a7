import { randomBytes } from 'node:crypto';
import { connectPool, type Pool } from '@sm2ca/store';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';

export interface TestDatabase {
  url: string;
  pool: Pool;
}

/**
 * A fresh database of the run's cluster: a clone of the migrated template, or
 * with `empty` a database with no tables at all (for the migration runner's own tests).
 */
export async function createTestDatabase(
  options: { empty?: boolean } = {},
): Promise<TestDatabase & { drop(): Promise<void> }> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(
      `CREATE DATABASE ${name} TEMPLATE ${options.empty ? 'template0' : inject('templateDatabase')}`,
    );
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = await connectPool(url.toString());
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

/** The test file's own database, created before its tests and dropped after them. */
export function useTestDatabase(): TestDatabase {
  const handle = {} as TestDatabase;
  let drop = async () => {};
  beforeAll(async () => {
    const db = await createTestDatabase();
    Object.assign(handle, { url: db.url, pool: db.pool });
    drop = db.drop;
  });
  afterAll(() => drop());
  return handle;
}
