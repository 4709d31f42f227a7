import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslHolderCsr } from '../support/openssl-cli.ts';
import { raOperators } from '../support/ra-client.ts';
import { type Stack, sm2caCli, startStack } from '../support/sm2ca-stack.ts';
import { addStackOperator } from '../support/stack-operators.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

type Page = { items: { id: string; actor: string; actorRole: string }[]; nextAfterId: string };

async function until(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The chain as the running product keeps it: records of the CLI, the RA and the CA sealed by
 * whichever service leads, checkpoints signed in the device and written outside the database.
 */
describe('audit trail end to end', () => {
  let stack: Stack;
  let db: TestDatabase & { drop(): Promise<void> };
  const dir = mkdtempSync(join(tmpdir(), 'e2e-audit-'));
  const sink = join(dir, 'sink.jsonl');

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db.url, { SM2CA_AUDIT_CHECKPOINT_SINK: sink });
    const operators = await raOperators(stack);
    await operators.issue(opensslHolderCsr(dir, 'holder', '/C=CN/CN=Audit Holder'), {
      commonName: '赵六',
      identity: { residentId: '11010519491231002X' },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seals every service’s records into one chain, signs checkpoints, and verifies', async () => {
    const count = async (sql: string) => Number((await db.pool.query(sql)).rows[0].n);
    await until(
      async () =>
        (await count('SELECT count(*) AS n FROM audit_chain')) ===
        (await count('SELECT count(*) AS n FROM audit_log')),
    ).catch((err) => {
      throw new Error(`${err.message}; services said:\n${stack.output()}`);
    });
    const { rows } = await db.pool.query(
      'SELECT DISTINCT a.actor_role FROM audit_chain c JOIN audit_log a ON a.id = c.audit_id',
    );
    expect(rows.map((r) => r.actor_role)).toEqual(
      expect.arrayContaining(['key_ceremony', 'entry_clerk', 'reviewer', 'ra_instruction']),
    );
    // The leader signed one when elected; this one covers everything above.
    expect(await count('SELECT count(*) AS n FROM audit_checkpoints')).toBeGreaterThanOrEqual(1);
    const checkpoint = await stack.cli(['audit', 'checkpoint']);
    expect(checkpoint.code, checkpoint.stderr).toBe(0);
    const inHome = readFileSync(join(stack.env.SM2CA_HOME!, 'audit', 'checkpoints.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(readFileSync(sink, 'utf8').trim().split('\n')).toEqual(inHome);
    expect(inHome.length).toBe(await count('SELECT count(*) AS n FROM audit_checkpoints'));

    const verify = await stack.cli(['audit', 'verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain('audit trail verified');

    const exported = await stack.cli([
      'audit',
      'export',
      '--from',
      new Date(Date.now() - 3_600_000).toISOString(),
      '--to',
      new Date(Date.now() + 3_600_000).toISOString(),
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    const file = join(dir, 'export.jsonl');
    writeFileSync(file, exported.stdout);
    const offline = await stack.cli(['audit', 'verify', '--file', file, '--checkpoints', sink]);
    expect(offline.code, offline.stdout + offline.stderr).toBe(0);
  }, 120_000);

  it('lets the auditor query and export the trail over the API and the CLI, and nobody else', async () => {
    const auditor = await addStackOperator(stack, 'auditor', ['auditor']);
    const ra = (path: string, credential = auditor) =>
      fetch(`${stack.url.ra}${path}`, { headers: { authorization: `Bearer ${credential}` } });

    const reviews = (await (await ra('/v1/audit/records?action=application.&actor=reviewer')).json()) as Page;
    expect(reviews.items.length).toBeGreaterThanOrEqual(1);
    for (const item of reviews.items)
      expect(item).toMatchObject({ actor: 'reviewer', actorRole: 'reviewer' });
    const page = (await (await ra('/v1/audit/records?limit=2')).json()) as Page;
    const next = (await (await ra(`/v1/audit/records?limit=2&afterId=${page.nextAfterId}`)).json()) as Page;
    expect(Number(next.items[0]!.id)).toBeGreaterThan(Number(page.items[1]!.id));

    const env = { ...stack.env, SM2CA_OPERATOR_CREDENTIAL: auditor };
    const queried = await sm2caCli(['audit', 'query', '--subject-type', 'application'], env);
    expect(queried.code, queried.stderr).toBe(0);
    const lines = queried.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.every((r: { subjectType: string }) => r.subjectType === 'application')).toBe(true);

    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const exported = await ra(`/v1/audit/export?from=${from}&to=${to}`);
    expect(exported.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const file = join(dir, 'api-export.jsonl');
    writeFileSync(file, await exported.text());
    const offline = await stack.cli(['audit', 'verify', '--file', file, '--checkpoints', sink]);
    expect(offline.code, offline.stdout + offline.stderr).toBe(0);
    const { rows } = await db.pool.query("SELECT actor FROM audit_log WHERE action = 'audit.export'");
    expect(rows).toEqual([{ actor: 'auditor' }]);

    const refused = await ra('/v1/audit/records', await addStackOperator(stack, 'clerk2', ['entry-clerk']));
    expect(refused.status).toBe(403);
    expect((await ra(`/v1/audit/export?from=${to}&to=${from}`)).status).toBe(400);
  }, 120_000);
});
