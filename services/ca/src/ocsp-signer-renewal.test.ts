import { createLogger, type HttpServer } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCaApp } from './app.ts';
import { type CaTestBed, createCaTestBed } from './test-support/ca-test-bed.ts';

/** A bound for a loaded machine, not a latency goal. */
const settle = { timeout: 20_000 };

describe('CA: OCSP signers renewed in the background', () => {
  let bed: CaTestBed;
  const replicas: HttpServer[] = [];

  beforeAll(async () => {
    bed = await createCaTestBed();
    for (let i = 0; i < 2; i++) {
      const app = await buildCaApp(
        {
          config: bed.config,
          log: createLogger('ca', { level: 'silent' }),
          db: { pool: bed.db.pool, url: bed.db.url, close: async () => {} },
          device: bed.device,
        },
        { leaderRetryMs: 200 },
      );
      await app.ready();
      replicas.push(app);
    }
  });
  afterAll(async () => {
    for (const app of replicas) await app.close();
    await bed?.close();
  });

  const revoke = (id: string) => bed.revokeCeremonyCertificate(id);
  const signers = async () =>
    (await bed.db.pool.query("SELECT id FROM issuers WHERE kind = 'ocsp' ORDER BY created_at")).rows.map(
      (r) => r.id as string,
    );

  it('replaces a revoked signer once, whichever of two replicas leads, and again after one stops', async () => {
    await revoke('ocsp-sub-1');
    await vi.waitFor(async () => expect(await signers()).toContain('ocsp-sub-2'), settle);

    await replicas.shift()!.close();
    await revoke('ocsp-root-1');
    await vi.waitFor(async () => expect(await signers()).toContain('ocsp-root-2'), settle);

    expect(await signers()).toEqual(['ocsp-root-1', 'ocsp-sub-1', 'ocsp-sub-2', 'ocsp-root-2']);
    const audit = await bed.db.pool.query(
      "SELECT subject_id, actor FROM audit_log WHERE action = 'issuer.create' AND actor = 'ca' ORDER BY id",
    );
    expect(audit.rows).toEqual([
      { subject_id: 'ocsp-sub-2', actor: 'ca' },
      { subject_id: 'ocsp-root-2', actor: 'ca' },
    ]);
  });
});
