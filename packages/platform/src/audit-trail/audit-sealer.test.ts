import { withTransaction } from '@sm2ca/store';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../../test/support/test-database.ts';
import { recordAudit } from '../audit.ts';
import { readChain } from './audit-chain-reader.ts';
import { sealAuditRecords } from './audit-sealer.ts';
import { verifyAuditChain } from './audit-verifier.ts';

const db = useTestDatabase();
const actor = { name: 'test', role: 'tester' };
const write = (subjectId: string) =>
  withTransaction(db.pool, (client) =>
    recordAudit(client, actor, {
      action: 'test.write',
      subjectType: 'test',
      subjectId,
      after: { n: subjectId },
    }),
  );

async function chainedSubjects(): Promise<string[]> {
  const { rows } = await db.pool.query(
    `SELECT a.subject_id FROM audit_chain c JOIN audit_log a ON a.id = c.audit_id
      WHERE a.subject_type = 'test' ORDER BY c.seq`,
  );
  return rows.map((r) => r.subject_id);
}

describe('audit sealer', () => {
  it('never seals past a transaction still open, so the chain only grows at its end', async () => {
    await write('before');
    const held = await db.pool.connect();
    try {
      await held.query('BEGIN');
      await recordAudit(held, actor, { action: 'test.write', subjectType: 'test', subjectId: 'held' });
      await write('later-1');
      await write('later-2');
      // The held transaction is older than the later ones: nothing from its start on may be sealed yet.
      await sealAuditRecords(db.pool);
      expect(await chainedSubjects()).toEqual(['before']);
      await held.query('COMMIT');
    } finally {
      held.release();
    }
    await write('last');
    const first = await sealAuditRecords(db.pool);
    expect(await chainedSubjects()).toEqual(['before', 'held', 'later-1', 'later-2', 'last']);
    // Sealing again adds nothing and moves nothing.
    expect((await sealAuditRecords(db.pool)).sealed).toBe(0);
    const report = await verifyAuditChain({
      links: readChain(db.pool),
      checkpoints: [],
      auditCertificates: new Map(),
      trustAnchors: [],
      intermediates: [],
      fromGenesis: true,
    });
    expect(report.problems).toEqual([]);
    expect(report.lastSeq).toBe(first.head.seq);
    expect(report.head).toBe(first.head.hash);
  });

  it('seals in batches across transactions with the same result', async () => {
    await db.pool.query(
      `INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
       SELECT 'bulk', 'tester', 'test.bulk', 'bulk', g::text, jsonb_build_object('g', g, 'b', 'x')
         FROM generate_series(1, 250) g`,
    );
    const { sealed } = await sealAuditRecords(db.pool, { batch: 40 });
    expect(sealed).toBe(250);
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT c.seq)::int AS seqs, max(c.seq) - min(c.seq) + 1 AS span
         FROM audit_chain c JOIN audit_log a ON a.id = c.audit_id WHERE a.subject_type = 'bulk'`,
    );
    expect(rows[0]).toEqual({ n: 250, seqs: 250, span: '250' });
  });

  it('refuses UPDATE, DELETE and TRUNCATE of audit rows', async () => {
    await write('kept');
    await sealAuditRecords(db.pool);
    for (const statement of [
      "UPDATE audit_log SET actor = 'someone else'",
      'DELETE FROM audit_log',
      'TRUNCATE audit_log CASCADE',
      'UPDATE audit_chain SET seq = seq + 1000',
      'DELETE FROM audit_chain',
      'TRUNCATE audit_chain',
      'TRUNCATE audit_checkpoints',
    ]) {
      await expect(db.pool.query(statement), statement).rejects.toThrow(/insert-only/);
    }
  });
});
