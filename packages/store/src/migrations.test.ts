import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/test-database.ts';
import { migrate } from './migrations.ts';
import type { Pool } from './pool.ts';
import { StoreError } from './store-error.ts';

const first = `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
  checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());`;

describe('migrate', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: Pool;
  let dir: string;

  beforeEach(async () => {
    db = await createTestDatabase({ empty: true });
    pool = db.pool;
    dir = await mkdtemp(join(tmpdir(), 'sm2ca-migrations-'));
    await writeFile(join(dir, '0001_schema_migrations.sql'), first);
    // The second migration depends on the third having NOT run yet and vice versa, so order shows.
    await writeFile(join(dir, '0002_log.sql'), 'CREATE TABLE log (n serial PRIMARY KEY, step text);');
    await writeFile(join(dir, '0003_second.sql'), "INSERT INTO log (step) VALUES ('0003');");
    await writeFile(join(dir, '0010_third.sql'), "INSERT INTO log (step) VALUES ('0010');");
  });
  afterEach(() => db.drop());

  it('applies the files in numeric order and records each', async () => {
    const result = await migrate(pool, dir);
    expect(result.applied).toEqual([
      '0001_schema_migrations.sql',
      '0002_log.sql',
      '0003_second.sql',
      '0010_third.sql',
    ]);
    const steps = await pool.query('SELECT step FROM log ORDER BY n');
    expect(steps.rows.map((r) => r.step)).toEqual(['0003', '0010']);
    const recorded = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(recorded.rows.map((r) => r.version)).toEqual([1, 2, 3, 10]);
  });

  it('is idempotent: a second run applies nothing', async () => {
    await migrate(pool, dir);
    const again = await migrate(pool, dir);
    expect(again).toEqual({ applied: [], alreadyApplied: 4 });
    const steps = await pool.query('SELECT count(*)::int AS n FROM log');
    expect(steps.rows[0].n).toBe(2);
  });

  it('applies only the new file when one is added', async () => {
    await migrate(pool, dir);
    await writeFile(join(dir, '0011_more.sql'), "INSERT INTO log (step) VALUES ('0011');");
    expect((await migrate(pool, dir)).applied).toEqual(['0011_more.sql']);
  });

  it('refuses to run when a landed migration was edited, and applies nothing', async () => {
    await migrate(pool, dir);
    await writeFile(join(dir, '0003_second.sql'), "INSERT INTO log (step) VALUES ('edited');");
    await writeFile(join(dir, '0011_more.sql'), "INSERT INTO log (step) VALUES ('0011');");
    const error = await migrate(pool, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'MIGRATION_EDITED' });
    expect((error as Error).message).toContain('0003_second.sql');
    const steps = await pool.query('SELECT step FROM log ORDER BY n');
    expect(steps.rows.map((r) => r.step)).toEqual(['0003', '0010']);
  });

  it('rolls back a failing migration completely and records nothing for it', async () => {
    await writeFile(join(dir, '0011_broken.sql'), "INSERT INTO log (step) VALUES ('half'); SELECT 1/0;");
    await expect(migrate(pool, dir)).rejects.toThrow(/division by zero/);
    const steps = await pool.query('SELECT step FROM log ORDER BY n');
    expect(steps.rows.map((r) => r.step)).toEqual(['0003', '0010']);
    const recorded = await pool.query('SELECT max(version)::int AS v FROM schema_migrations');
    expect(recorded.rows[0].v).toBe(10);
  });

  it('refuses badly named files', async () => {
    await writeFile(join(dir, '12_oops.sql'), 'SELECT 1;');
    await expect(migrate(pool, dir)).rejects.toMatchObject({ code: 'MIGRATION_NAME' });
  });

  it('runs once when several processes migrate at the same time', async () => {
    const results = await Promise.all([migrate(pool, dir), migrate(pool, dir), migrate(pool, dir)]);
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 4]);
  });
});
