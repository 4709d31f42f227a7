import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { isAlive } from '../../../test/support/process-alive.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function query(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

const moduleUrl = new URL('./embedded-postgres.ts', import.meta.url).href;

/** A separate process owning the server, once the server is up; it stops the server when its stdin closes. */
async function startOwner(dir: string, port: number) {
  const script = `
    const { startEmbeddedPostgres } = await import(${JSON.stringify(moduleUrl)});
    const server = await startEmbeddedPostgres({ dir: ${JSON.stringify(dir)}, port: ${port} });
    process.stdout.write('up\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await server.stop(); process.exit(0); });
  `;
  const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => owner.stdout.once('data', resolve));
  return owner;
}

describe('embedded PostgreSQL', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const newDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sm2ca-pg-'));
    dirs.push(dir);
    return dir;
  };

  it('starts, accepts a connection, stops, and leaves no process behind', async () => {
    const dir = await newDir();
    const port = await freePort();
    const server = await startEmbeddedPostgres({ dir, port });
    expect(server.pid).toBeGreaterThan(0);
    const result = await query(server.url, 'SELECT current_database() AS db, version() AS v');
    expect(result.rows[0].db).toBe('sm2ca');
    expect(result.rows[0].v).toMatch(/^PostgreSQL/);
    await server.stop();
    expect(isAlive(server.pid!)).toBe(false);
    expect(await portAccepts(port)).toBe(false);
    expect(existsSync(join(dir, 'data', 'postmaster.pid'))).toBe(false);
  });

  it('keeps its data and password across restarts', async () => {
    const dir = await newDir();
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dir, port });
    await query(first.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)');
    await first.stop();
    const second = await startEmbeddedPostgres({ dir, port });
    expect(second.url).toBe(first.url);
    expect((await query(second.url, 'SELECT x FROM kept')).rows).toEqual([{ x: 42 }]);
    await second.stop();
  });

  it('starts again, data kept, after its postmaster was killed, and then stops cleanly', async () => {
    const dir = await newDir();
    const port = await freePort();
    const server = await startEmbeddedPostgres({ dir, port });
    await query(server.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)');
    const killed = server.pid!;
    process.kill(killed, 'SIGKILL');
    while (server.alive()) await new Promise((r) => setTimeout(r, 50));
    // Until the orphaned backends have noticed and gone, PostgreSQL refuses to start: as the supervisor does, try again.
    for (let attempt = 1; ; attempt++) {
      const failed = await server.restart().then(
        () => undefined,
        (err: unknown) => err,
      );
      if (!failed) break;
      if (attempt === 20) throw failed;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(server.alive()).toBe(true);
    expect(server.pid).not.toBe(killed);
    expect((await query(server.url, 'SELECT x FROM kept')).rows).toEqual([{ x: 42 }]);
    await server.stop();
    expect(isAlive(server.pid!)).toBe(false);
    expect(await portAccepts(port)).toBe(false);
  });

  it('adopts a server whose owner died without stopping it, and stops it when done', async () => {
    const dir = await newDir();
    const port = await freePort();
    const owner = await startOwner(dir, port);
    owner.kill('SIGKILL');
    await new Promise((resolve) => owner.once('exit', resolve));
    const adopted = await startEmbeddedPostgres({ dir, port });
    expect(adopted.owner).toBe(true);
    expect((await query(adopted.url, 'SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await adopted.stop();
    expect(isAlive(adopted.pid!)).toBe(false);
  });

  it('shares a server whose owner is alive and leaves it running for that owner', async () => {
    const dir = await newDir();
    const port = await freePort();
    const owner = await startOwner(dir, port);
    const guest = await startEmbeddedPostgres({ dir, port });
    expect(guest.owner).toBe(false);
    await guest.stop();
    expect(isAlive(guest.pid!)).toBe(true);
    expect((await query(guest.url, 'SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    owner.stdin.end();
    await new Promise((resolve) => owner.once('exit', resolve));
    expect(isAlive(guest.pid!)).toBe(false);
  });

  it('fails with a clear error when the port is taken', async () => {
    const dir = await newDir();
    const port = await freePort();
    const holder = await startEmbeddedPostgres({ dir, port });
    const otherDir = await newDir();
    await expect(startEmbeddedPostgres({ dir: otherDir, port })).rejects.toMatchObject({
      code: 'EMBEDDED_PG_PORT',
    });
    await holder.stop();
  });
});
