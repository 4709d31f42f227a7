import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readExport, sealAuditRecords, verifyAuditChain } from '@sm2ca/platform';
import { describe, expect, it } from 'vitest';
import { monthSpan } from './audit-archives.ts';
import { useRaTestBed } from './test-support/ra-test-bed.ts';

/** The month `offset` months from the current one, in China Standard Time. */
function monthFromNow(offset: number): string {
  const here = new Date(Date.now() + 8 * 3600_000);
  const index = here.getUTCFullYear() * 12 + here.getUTCMonth() + offset;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

describe('audit settings and archives', () => {
  const bed = useRaTestBed();

  const auditRows = async (action: string) =>
    (
      await bed.pool.query(
        'SELECT actor, actor_role, subject_id, before, after FROM audit_log WHERE action = $1 ORDER BY id',
        [action],
      )
    ).rows;

  /** Records stamped inside a past month, as written then, sealed into the chain. */
  async function pastRecords(month: string, count: number, seal = true): Promise<void> {
    const { from } = monthSpan(month);
    for (let i = 0; i < count; i++) {
      await bed.pool.query(
        `INSERT INTO audit_log (at, actor, actor_role, action, subject_type, subject_id, after)
         VALUES ($1, 'op-reviewer', 'reviewer', 'application.approve', 'application', $2, '{"status":"approved"}')`,
        [new Date(from.getTime() + (i + 1) * 86_400_000), `${month}-${i}`],
      );
    }
    if (seal) await sealAuditRecords(bed.pool);
  }

  it('shows the defaults until the audit admin changes them, and audits the change with before and after', async () => {
    const initial = await bed.call('auditAdmin', 'GET', '/v1/audit/settings');
    expect(initial.statusCode, initial.body).toBe(200);
    expect(initial.json()).toMatchObject({ retentionYears: 10, archiveAfterDays: 1, changedAt: null });
    const { checkpointMinutes } = initial.json();

    const res = await bed.call('auditAdmin', 'PUT', '/v1/audit/settings', {
      retentionYears: 15,
      checkpointMinutes: 30,
      archiveAfterDays: 2,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      retentionYears: 15,
      checkpointMinutes: 30,
      changedBy: 'op-auditAdmin',
    });

    const read = await bed.call('auditor', 'GET', '/v1/audit/settings');
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toMatchObject({ retentionYears: 15, checkpointMinutes: 30, archiveAfterDays: 2 });
    expect(await auditRows('audit_settings.change')).toEqual([
      {
        actor: 'op-auditAdmin',
        actor_role: 'audit_admin',
        subject_id: 'audit',
        before: { retentionYears: 10, checkpointMinutes, archiveAfterDays: 1 },
        after: { retentionYears: 15, checkpointMinutes: 30, archiveAfterDays: 2 },
      },
    ]);
  });

  it('keeps retention at 10 years at least', async () => {
    const res = await bed.call('auditAdmin', 'PUT', '/v1/audit/settings', {
      retentionYears: 5,
      checkpointMinutes: 10,
      archiveAfterDays: 1,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('AUDIT_RETENTION_TOO_SHORT');
    expect((await bed.call('auditor', 'GET', '/v1/audit/settings')).json().retentionYears).toBe(15);
  });

  it('refuses the auditor a change and the audit admin the records, each refusal on record', async () => {
    const change = await bed.call('auditor', 'PUT', '/v1/audit/settings', {
      retentionYears: 20,
      checkpointMinutes: 10,
      archiveAfterDays: 1,
    });
    expect(change.statusCode).toBe(403);
    expect(change.json().error.code).toBe('ROLE_FORBIDDEN');
    const archive = await bed.call('auditor', 'POST', '/v1/audit/archives', { month: monthFromNow(-2) });
    expect(archive.statusCode).toBe(403);
    expect(archive.json().error.code).toBe('ROLE_FORBIDDEN');
    expect(await auditRows('audit_settings.refuse')).toEqual([
      expect.objectContaining({
        actor: 'op-auditAdmin',
        after: expect.objectContaining({ code: 'AUDIT_RETENTION_TOO_SHORT' }),
      }),
      expect.objectContaining({
        actor: 'op-auditor',
        after: expect.objectContaining({ code: 'ROLE_FORBIDDEN', route: 'PUT /v1/audit/settings' }),
      }),
    ]);
    expect(await auditRows('audit_archive.refuse')).toEqual([
      expect.objectContaining({
        actor: 'op-auditor',
        subject_id: 'none',
        after: expect.objectContaining({ code: 'ROLE_FORBIDDEN' }),
      }),
    ]);

    for (const url of [
      '/v1/audit/records',
      '/v1/audit/export?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z',
    ]) {
      const res = await bed.call('auditAdmin', 'GET', url);
      expect(res.statusCode, url).toBe(403);
      expect(res.json().error.code).toBe('ROLE_FORBIDDEN');
    }
    const business = await bed.call('auditAdmin', 'GET', '/v1/applications');
    expect(business.statusCode).toBe(403);
    expect((await bed.call('superAdmin', 'PUT', '/v1/audit/settings', {})).statusCode).toBe(403);
  });

  it('archives a closed month once, as an export whose SM3 digest is on record and whose chain verifies', async () => {
    const month = monthFromNow(-3);
    await pastRecords(month, 3);

    const res = await bed.call('auditAdmin', 'POST', '/v1/audit/archives', { month });
    expect(res.statusCode, res.body).toBe(201);
    const archive = res.json();
    expect(archive).toMatchObject({
      month,
      file: `audit/archive/${month}.jsonl`,
      records: 3,
      madeBy: 'op-auditAdmin',
    });
    expect(archive.lastSeq - archive.firstSeq).toBe(2);
    // Retention was set to 15 years above.
    const keepUntil = monthSpan(month).before;
    keepUntil.setUTCFullYear(keepUntil.getUTCFullYear() + 15);
    expect(archive.keepUntil).toBe(keepUntil.toISOString());

    const path = join(bed.home, archive.file);
    expect(createHash('sm3').update(readFileSync(path)).digest('hex')).toBe(archive.digest);
    const contents = await readExport(path);
    const subjects: string[] = [];
    for await (const link of contents.links()) subjects.push(link.record?.subjectId ?? '');
    expect(subjects).toEqual([`${month}-0`, `${month}-1`, `${month}-2`]);
    const report = await verifyAuditChain({ ...contents, links: contents.links(), fromGenesis: false });
    expect(report.problems).toEqual([]);
    expect(report.records).toBe(3);

    const again = await bed.call('auditAdmin', 'POST', '/v1/audit/archives', { month });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('AUDIT_MONTH_ARCHIVED');
    expect(readFileSync(path).length).toBeGreaterThan(0);

    const list = await bed.call('auditor', 'GET', '/v1/audit/archives');
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().items).toEqual([archive]);
    expect(await auditRows('audit_archive.create')).toEqual([
      expect.objectContaining({ actor: 'op-auditAdmin', subject_id: month, after: archive }),
    ]);
    // Archived records stay where they were.
    const { rows } = await bed.pool.query(
      'SELECT count(*)::int AS n FROM audit_log WHERE subject_id LIKE $1',
      [`${month}-%`],
    );
    expect(rows[0].n).toBe(3);
  });

  it('hands the auditor an archive file only while it matches its registered digest', async () => {
    const [archive] = (await bed.call('auditor', 'GET', '/v1/audit/archives')).json().items;
    const path = join(bed.home, archive.file);
    const res = await bed.call('auditor', 'GET', `/v1/audit/archives/${archive.month}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/x-ndjson/);
    expect(res.body).toBe(readFileSync(path, 'utf8'));
    expect(await auditRows('audit.export')).toEqual([
      expect.objectContaining({ actor: 'op-auditor', subject_id: archive.month }),
    ]);

    const admin = await bed.call('auditAdmin', 'GET', `/v1/audit/archives/${archive.month}`);
    expect(admin.statusCode).toBe(403);
    expect(admin.json().error.code).toBe('ROLE_FORBIDDEN');
    const none = await bed.call('auditor', 'GET', `/v1/audit/archives/${monthFromNow(-7)}`);
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe('AUDIT_ARCHIVE_NOT_FOUND');

    writeFileSync(path, readFileSync(path, 'utf8').replace('op-reviewer', 'op-reviewes'));
    const altered = await bed.call('auditor', 'GET', `/v1/audit/archives/${archive.month}`);
    expect(altered.statusCode).toBe(409);
    expect(altered.json().error.code).toBe('AUDIT_ARCHIVE_ALTERED');
    expect(
      (await auditRows('audit_archive.refuse')).map((r) => [r.actor, r.subject_id, r.after.code]),
    ).toEqual(
      expect.arrayContaining([
        ['op-auditAdmin', archive.month, 'ROLE_FORBIDDEN'],
        ['op-auditor', archive.month, 'AUDIT_ARCHIVE_ALTERED'],
      ]),
    );
  });

  it('refuses an open month, a future one and one with records not yet sealed', async () => {
    for (const month of [monthFromNow(0), monthFromNow(1)]) {
      const res = await bed.call('auditAdmin', 'POST', '/v1/audit/archives', { month });
      expect(res.statusCode, month).toBe(409);
      expect(res.json().error.code).toBe('AUDIT_MONTH_OPEN');
    }
    const month = monthFromNow(-5);
    await pastRecords(month, 1, false);
    const res = await bed.call('auditAdmin', 'POST', '/v1/audit/archives', { month });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('AUDIT_MONTH_UNSEALED');
    const bad = await bed.call('auditAdmin', 'POST', '/v1/audit/archives', { month: '2026-13' });
    expect(bad.statusCode).toBe(400);
    expect((await bed.call('auditor', 'GET', '/v1/audit/archives')).json().items).toHaveLength(1);
    expect((await auditRows('audit_archive.refuse')).map((r) => [r.subject_id, r.after.code])).toEqual([
      ['none', 'ROLE_FORBIDDEN'],
      [monthFromNow(-3), 'AUDIT_MONTH_ARCHIVED'],
      [monthFromNow(-3), 'ROLE_FORBIDDEN'],
      [monthFromNow(-7), 'AUDIT_ARCHIVE_NOT_FOUND'],
      [monthFromNow(-3), 'AUDIT_ARCHIVE_ALTERED'],
      [monthFromNow(0), 'AUDIT_MONTH_OPEN'],
      [monthFromNow(1), 'AUDIT_MONTH_OPEN'],
      [month, 'AUDIT_MONTH_UNSEALED'],
      ['2026-13', 'REQUEST_INVALID'],
    ]);
  });
});
