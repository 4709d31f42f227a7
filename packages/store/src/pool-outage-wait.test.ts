import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres.ts';
import { connectPool, type Pool } from './pool.ts';
import { withTransaction } from './transaction.ts';

/** A server of its own, since this test stops it. */
describe('a pool that waits out a short database outage', () => {
  let dir: string;
  let port: number;
  let server: EmbeddedPostgresHandle;
  let waiting: Pool;
  let impatient: Pool;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sm2ca-outage-wait-'));
    port = await freePort();
    server = await startEmbeddedPostgres({ dir, port });
    waiting = await connectPool(server.url, { max: 2, outageWaitMs: 30_000 });
    impatient = await connectPool(server.url, { max: 2 });
    await waiting.query('CREATE TABLE outage_wait (n int)');
  });
  afterAll(async () => {
    await waiting?.end();
    await impatient?.end();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds queries and transactions until the server is back; without a wait they fail at once', async () => {
    // Checked out across the outage: its transaction is lost with the connection and run again.
    const runs: number[] = [];
    let stopped: () => void = () => {};
    const serverStopped = new Promise<void>((resolve) => {
      stopped = resolve;
    });
    const transaction = withTransaction(waiting, async (c) => {
      runs.push(runs.length);
      await c.query('INSERT INTO outage_wait VALUES ($1)', [runs.length]);
      if (runs.length === 1) await serverStopped;
      await c.query('SELECT 1');
    });
    await new Promise((r) => setTimeout(r, 200));
    await server.stop();
    stopped();
    const query = waiting.query('SELECT 42 AS answer');
    await expect(impatient.query('SELECT 1')).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 1_500));
    server = await startEmbeddedPostgres({ dir, port });

    expect((await query).rows).toEqual([{ answer: 42 }]);
    await transaction;
    expect(runs.length).toBe(2);
    // The first run's INSERT died with its connection: only the second one is there.
    expect((await waiting.query('SELECT n FROM outage_wait')).rows).toEqual([{ n: 2 }]);
  });
});
