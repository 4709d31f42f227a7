import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmTestBed, holderKey, type KmTestBed } from '../../../test/support/km-test-bed.ts';
import { archiveEscrows, expireEscrows } from './escrow-expiry.ts';
import { ensureKmMasterKey } from './master-key.ts';

const until = async (what: string, check: () => Promise<boolean>, limitMs = 20_000) => {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('KM background: pool filler and escrow expiry', () => {
  let bed: KmTestBed;
  beforeAll(async () => {
    bed = await createKmTestBed(
      { SM2CA_KM_POOL_SIZE: '12', SM2CA_KM_POOL_LOW_WATER: '4' },
      { background: true },
    );
  });
  afterAll(() => bed?.close());

  it('fills the pool to its size when elected, and again once takes leave it below the low-water mark', async () => {
    await until('pool filled', async () => (await bed.pooled()) === 12);
    for (let i = 0; i < 8; i++) {
      expect((await bed.send({ requests: [bed.applyItem(holderKey())] })).status).toBe(200);
    }
    // 4 left: not below the mark, nothing happens; one more take wakes the filler.
    expect(await bed.pooled()).toBe(4);
    expect((await bed.send({ requests: [bed.applyItem(holderKey())] })).status).toBe(200);
    await until('pool refilled', async () => (await bed.pooled()) === 12);
    const { rows } = await bed.db.pool.query(
      "SELECT sum((after->>'keys')::int)::int AS keys FROM audit_log WHERE action = 'km.pool.fill'",
    );
    expect(rows[0].keys).toBe(12 + 9);
    const wrapped = await bed.db.pool.query(
      "SELECT DISTINCT master_key_label FROM km_keys WHERE state = 'pooled'",
    );
    expect(wrapped.rows).toEqual([{ master_key_label: 'km-master' }]);
  });

  it('marks escrows expired once their certificate has ended, on record, and keeps them', async () => {
    const item = bed.applyItem(holderKey());
    expect((await bed.send({ requests: [item] })).status).toBe(200);
    await bed.db.pool.query(
      "UPDATE km_keys SET not_after = now() - interval '1 second' WHERE user_cert_no = $1",
      [item.userCertNo],
    );
    expect(await expireEscrows(bed.km)).toBe(1);
    expect(await expireEscrows(bed.km)).toBe(0);
    const { rows } = await bed.db.pool.query('SELECT state FROM km_keys WHERE user_cert_no = $1', [
      item.userCertNo,
    ]);
    expect(rows).toEqual([{ state: 'expired' }]);
    const audit = await bed.db.pool.query(
      "SELECT after FROM audit_log WHERE action = 'km.key.expire' AND after->>'userCertNo' = $1",
      [item.userCertNo],
    );
    expect(audit.rows).toHaveLength(1);
    expect(await archiveEscrows(bed.km, 30)).toBe(0);
    await bed.db.pool.query(
      "UPDATE km_keys SET state_changed_at = now() - interval '31 days' WHERE user_cert_no = $1",
      [item.userCertNo],
    );
    expect(await archiveEscrows(bed.km, 30)).toBe(1);
    const archived = await bed.db.pool.query('SELECT state FROM km_keys WHERE user_cert_no = $1', [
      item.userCertNo,
    ]);
    expect(archived.rows).toEqual([{ state: 'archived' }]);
    await expect(
      bed.db.pool.query('DELETE FROM km_keys WHERE user_cert_no = $1', [item.userCertNo]),
    ).rejects.toThrow(/never deleted/);
  });

  it('makes the master key once: a second run finds it', async () => {
    const runs = await Promise.all([
      ensureKmMasterKey(bed.db.pool, bed.device, { name: 'cli', role: 'key_ceremony' }),
      ensureKmMasterKey(bed.db.pool, bed.device, { name: 'cli', role: 'key_ceremony' }),
    ]);
    expect(runs).toEqual([{ created: false }, { created: false }]);
    const { rows } = await bed.db.pool.query(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'km.master-key.create'",
    );
    expect(rows[0].n).toBe(1);
  });
});
