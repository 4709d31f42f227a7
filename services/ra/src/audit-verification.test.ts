import { sealAuditRecords } from '@sm2ca/platform';
import { describe, expect, it } from 'vitest';
import { useRaTestBed } from './test-support/ra-test-bed.ts';

describe('GET /v1/audit/verification', () => {
  const bed = useRaTestBed();

  it('tells the auditor the sealed chain is intact, and puts the verification on record', async () => {
    await bed.call('auditor', 'GET', '/v1/audit/records');
    await sealAuditRecords(bed.pool);
    const res = await bed.call('auditor', 'GET', '/v1/audit/verification');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ intact: true, problems: [], strays: [], firstSeq: 1 });
    expect(body.records).toBeGreaterThan(0);
    expect(body.lastSeq).toBe(body.records);
    expect(body.head).toMatch(/^[0-9a-f]{64}$/);
    const { rows } = await bed.pool.query(
      "SELECT actor, actor_role, after FROM audit_log WHERE action = 'audit.verify'",
    );
    expect(rows).toEqual([
      {
        actor: 'op-auditor',
        actor_role: 'auditor',
        after: expect.objectContaining({ intact: true, records: body.records, problems: 0 }),
      },
    ]);
  });

  it('names the first broken record once one is edited', async () => {
    const { rows } = await bed.pool.query(
      'SELECT c.seq, a.id FROM audit_chain c JOIN audit_log a ON a.id = c.audit_id ORDER BY c.seq LIMIT 1',
    );
    // As a superuser who switched the insert-only trigger off.
    const client = await bed.pool.connect();
    try {
      await client.query("SET session_replication_role = 'replica'");
      await client.query("UPDATE audit_log SET actor = 'someone else' WHERE id = $1", [rows[0].id]);
      await client.query("SET session_replication_role = 'origin'");
    } finally {
      client.release();
    }
    const body = (await bed.call('auditor', 'GET', '/v1/audit/verification')).json();
    expect(body.intact).toBe(false);
    expect(body.problems[0]).toMatchObject({ seq: Number(rows[0].seq) });
  });

  it('refuses the other roles, the audit admin included', async () => {
    for (const role of ['auditAdmin', 'reviewer'] as const) {
      const res = await bed.call(role, 'GET', '/v1/audit/verification');
      expect(res.statusCode, role).toBe(403);
      expect(res.json().error.code).toBe('ROLE_FORBIDDEN');
    }
  });

  it('runs one verification at a time', async () => {
    const [a, b] = await Promise.all([
      bed.call('auditor', 'GET', '/v1/audit/verification'),
      bed.call('auditor', 'GET', '/v1/audit/verification'),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    expect((a.statusCode === 409 ? a : b).json().error.code).toBe('AUDIT_VERIFY_RUNNING');
  });
});
