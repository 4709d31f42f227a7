import { sm3 } from '@sm2ca/gm';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/support/test-database.ts';
import { crlEvidence } from './crl-evidence.ts';

const hour = 3600_000;

describe('CRL archive evidence', () => {
  const db = useTestDatabase();

  async function archive(issuer: string, crls: { number: number; at: number; kind?: 'full' | 'delta' }[]) {
    await db.pool.query(
      `INSERT INTO issuers (id, kind, parent_id, key_label, subject, certificate, subject_key_id, not_after)
       VALUES ($1, 'root', NULL, $1, 'CN=' || $1, '\\x30', '\\x01', now() + interval '1 day')`,
      [issuer],
    );
    for (const crl of crls) {
      const der = Buffer.from(`crl ${issuer} ${crl.number}`);
      const kind = crl.kind ?? 'full';
      await db.pool.query(
        `INSERT INTO crls (issuer_id, crl_number, kind, base_crl_number, this_update, next_update, entry_count, der, sm3, publisher)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, 'test')`,
        [
          issuer,
          crl.number,
          kind,
          kind === 'delta' ? crl.number - 1 : null,
          new Date(crl.at),
          new Date(crl.at + 24 * hour),
          der,
          Buffer.from(sm3(der)),
        ],
      );
    }
  }

  it('passes an archive that kept the cycle and reports its span', async () => {
    const now = Date.now();
    await archive('kept', [
      ...Array.from({ length: 40 }, (_, i) => ({ number: i + 1, at: now - (40 - i) * 23 * hour })),
      { number: 41, at: now - hour, kind: 'delta' as const },
    ]);
    const evidence = await crlEvidence(db.pool, 'kept', new Date(now));
    expect(evidence).toMatchObject({
      fullCount: 40,
      deltaCount: 1,
      retentionDays: 38,
      gaps: [],
      digestMismatches: [],
      overdueSeconds: 0,
      ok: true,
    });
    expect(evidence.maxFullGapSeconds).toBe(23 * 3600);
  });

  it('names a gap longer than the cycle, an edited CRL and a publisher that is late now', async () => {
    const now = Date.now();
    await archive('broken', [
      { number: 1, at: now - 80 * hour },
      { number: 2, at: now - 60 * hour },
      { number: 3, at: now - 30 * hour },
    ]);
    // Behind the archive's trigger, as only a database superuser could.
    await db.pool.query('ALTER TABLE crls DISABLE TRIGGER crls_no_update_or_delete');
    await db.pool.query(`UPDATE crls SET der = 'edited' WHERE issuer_id = 'broken' AND crl_number = 2`);
    await db.pool.query('ALTER TABLE crls ENABLE TRIGGER crls_no_update_or_delete');

    const evidence = await crlEvidence(db.pool, 'broken', new Date(now));
    expect(evidence.ok).toBe(false);
    expect(evidence.digestMismatches).toEqual([{ number: '2', kind: 'full' }]);
    expect(evidence.gaps).toEqual([
      expect.objectContaining({ fromNumber: '2', toNumber: '3', seconds: 30 * 3600, uncovered: true }),
    ]);
    expect(evidence.overdueSeconds).toBe(6 * 3600);
  });
});
