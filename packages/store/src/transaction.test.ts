import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/support/test-database.ts';
import { withTransaction } from './transaction.ts';

describe('withTransaction', () => {
  const db = useTestDatabase();

  it('commits on success and rolls back on error', async () => {
    await db.pool.query('CREATE TABLE tx_a (x int)');
    await withTransaction(db.pool, (c) => c.query('INSERT INTO tx_a VALUES (1)'));
    await expect(
      withTransaction(db.pool, async (c) => {
        await c.query('INSERT INTO tx_a VALUES (2)');
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect((await db.pool.query('SELECT x FROM tx_a')).rows).toEqual([{ x: 1 }]);
  });

  it('runs a transaction that lost a serialization race again', async () => {
    await db.pool.query(
      'CREATE TABLE tx_counter (id int PRIMARY KEY, n int); INSERT INTO tx_counter VALUES (1, 0)',
    );
    const increment = () =>
      withTransaction(
        db.pool,
        async (c) => {
          const { rows } = await c.query('SELECT n FROM tx_counter WHERE id = 1');
          await new Promise((r) => setTimeout(r, 20));
          await c.query('UPDATE tx_counter SET n = $1 WHERE id = 1', [rows[0].n + 1]);
        },
        { isolation: 'serializable', retries: 20 },
      );
    await Promise.all(Array.from({ length: 5 }, increment));
    expect((await db.pool.query('SELECT n FROM tx_counter')).rows[0].n).toBe(5);
  });

  it('gives up after the bound with DB_CONFLICT', async () => {
    let attempts = 0;
    const error = await withTransaction(
      db.pool,
      async () => {
        attempts++;
        throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      },
      { retries: 2 },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DB_CONFLICT' });
    expect(attempts).toBe(3);
  });
});
