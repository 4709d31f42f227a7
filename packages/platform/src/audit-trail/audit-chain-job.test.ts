import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTransaction } from '@sm2ca/store';
import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../../test/support/test-database.ts';
import { recordAudit } from '../audit.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { AuditChainJob, checkpointDue } from './audit-chain-job.ts';

const db = useTestDatabase();
const home = mkdtempSync(join(tmpdir(), 'audit-job-home-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sealed = async (subjectId: string) =>
  (
    await db.pool.query(
      'SELECT 1 FROM audit_chain c JOIN audit_log a ON a.id = c.audit_id WHERE a.subject_id = $1',
      [subjectId],
    )
  ).rowCount === 1;

const write = (subjectId: string) =>
  withTransaction(db.pool, (client) =>
    recordAudit(client, { name: 'test', role: 'tester' }, { action: 'test', subjectType: 'test', subjectId }),
  );

describe('audit chain job', () => {
  it('seals on NOTIFY on one replica only, and hands over when its leader stops', async () => {
    const config = loadConfig({ SM2CA_HOME: home });
    const job = () =>
      new AuditChainJob({
        pool: db.pool,
        url: db.url,
        config,
        log: createLogger('test', { level: 'silent' }),
        signer: () => {
          throw new Error('no checkpoint is expected without an audit key');
        },
        // Long enough that only the NOTIFY can explain a seal within the wait below.
        sweepMs: 60_000,
        leaderRetryMs: 100,
      });
    const [a, b] = [job(), job()];
    a.start();
    b.start();
    try {
      await until(async () => a.leader || b.leader);
      await new Promise((r) => setTimeout(r, 300));
      expect([a.leader, b.leader].filter(Boolean)).toHaveLength(1);
      await write('woken');
      await until(() => sealed('woken'), 5_000);
      const [leader, follower] = a.leader ? [a, b] : [b, a];
      await leader.stop();
      await until(async () => follower.leader);
      await write('after-failover');
      await until(() => sealed('after-failover'), 5_000);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it("takes the checkpoint interval from the audit admin's settings once set, else from the configuration", async () => {
    expect(await checkpointDue(db.pool, 10)).toBe(true);
    await db.pool.query(
      `INSERT INTO issuers (id, kind, parent_id, key_label, subject, certificate, subject_key_id, not_after)
       VALUES ('job-audit', 'audit', NULL, 'audit', 'CN=Audit', '\\x00', '\\x04', now() + interval '1 day')`,
    );
    await db.pool.query(
      `INSERT INTO audit_checkpoints (seq, head, at, issuer_id, signature, made_by)
       VALUES (0, '\\x${'00'.repeat(32)}', now() - interval '20 minutes', 'job-audit', '\\x00', 'test')`,
    );
    expect(await checkpointDue(db.pool, 10)).toBe(true);
    expect(await checkpointDue(db.pool, 30)).toBe(false);
    await db.pool.query(
      `INSERT INTO audit_settings (retention_years, checkpoint_minutes, archive_after_days, changed_by)
       VALUES (10, 30, 1, 'test')`,
    );
    expect(await checkpointDue(db.pool, 10)).toBe(false);
  });
});
