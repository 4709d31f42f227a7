import type graphene from 'graphene-pk11';
import { describe, expect, it } from 'vitest';
import { SessionPool } from './session-pool.ts';

function fakeSessions() {
  let opened = 0;
  const closed: number[] = [];
  const open = () => {
    const id = ++opened;
    return { id, close: () => closed.push(id) } as unknown as graphene.Session;
  };
  return { open, closed, opened: () => opened };
}

const id = (lease: { session: graphene.Session }) => (lease.session as unknown as { id: number }).id;

describe('SessionPool', () => {
  it('opens sessions on demand up to its size and makes later callers wait', async () => {
    const sessions = fakeSessions();
    const pool = new SessionPool(sessions.open, 2);
    const a = await pool.acquire();
    const b = await pool.acquire();
    let third: number | undefined;
    const waiting = pool.acquire().then((lease) => {
      third = id(lease);
      return lease;
    });
    await Promise.resolve();
    expect(third).toBeUndefined();
    pool.release(a);
    expect(id(await waiting)).toBe(id(a));
    expect(sessions.opened()).toBe(2);
    pool.release(b);
  });

  it('lends the synchronous path an extra session when all are busy, and closes it after', async () => {
    const sessions = fakeSessions();
    const pool = new SessionPool(sessions.open, 1);
    const busy = await pool.acquire();
    const extra = pool.acquireSync();
    expect(extra.overflow).toBe(true);
    pool.release(extra);
    expect(sessions.closed).toEqual([id(extra)]);
    pool.release(busy);
    expect(pool.acquireSync().overflow).toBe(false);
  });

  it('drops idle sessions on reset, leased ones on return, and serves waiters with new ones', async () => {
    const sessions = fakeSessions();
    const pool = new SessionPool(sessions.open, 1);
    const old = await pool.acquire();
    const waiting = pool.acquire();
    pool.reset();
    pool.release(old);
    expect(sessions.closed).toEqual([id(old)]);
    const fresh = await waiting;
    expect(id(fresh)).not.toBe(id(old));
    expect(fresh.generation).toBe(pool.generation);
  });

  it('rejects waiters when it closes', async () => {
    const pool = new SessionPool(fakeSessions().open, 1);
    await pool.acquire();
    const waiting = pool.acquire();
    pool.close();
    await expect(waiting).rejects.toThrow('device is closed');
  });
});
