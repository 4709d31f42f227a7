import type { PoolClient } from '@sm2ca/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.ts';

const services = ['ra', 'ca', 'km', 'ocsp', 'crl'] as const;

interface PgError {
  code?: string;
  message: string;
}

/** Runs `sql` as the service's role inside a transaction that is always rolled back. */
async function asRole(client: PoolClient, service: string, sql: string, params: unknown[] = []) {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL ROLE sm2ca_${service}`);
    return await client.query(sql, params);
  } finally {
    await client.query('ROLLBACK');
  }
}

async function refusal(run: Promise<unknown>): Promise<PgError> {
  const err = await run.then(
    () => undefined,
    (e: PgError) => e,
  );
  if (!err) throw new Error('the statement was allowed');
  return err;
}

describe('service database roles (migration 0020)', () => {
  const db = useTestDatabase();
  let client: PoolClient;
  let auditId: string;

  beforeAll(async () => {
    client = await db.pool.connect();
    const { rows } = await client.query(
      `INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id)
       VALUES ('test', 'system', 'test.seed', 'test', '1') RETURNING id`,
    );
    auditId = rows[0].id;
  });
  afterAll(() => client.release());

  it('creates one role per service that cannot log in until `sm2ca start` lets it', async () => {
    const { rows } = await client.query(
      `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls
         FROM pg_roles WHERE rolname LIKE 'sm2ca\\_%' ORDER BY rolname`,
    );
    expect(rows.map((r) => r.rolname)).toEqual(expect.arrayContaining(services.map((s) => `sm2ca_${s}`)));
    for (const row of rows) {
      expect(row).toMatchObject({
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolbypassrls: false,
      });
    }
  });

  for (const service of services) {
    it(`${service}: inserts and reads audit records, but UPDATE, DELETE and TRUNCATE are refused by grant`, async () => {
      const inserted = await asRole(
        client,
        service,
        `INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id)
         VALUES ('test', 'system', 'test.insert', 'test', '2') RETURNING id`,
      );
      expect(inserted.rowCount).toBe(1);
      const read = await asRole(client, service, 'SELECT id FROM audit_log WHERE id = $1', [auditId]);
      expect(read.rowCount).toBe(1);
      for (const [statement, table] of [
        [`UPDATE audit_log SET action = 'edited' WHERE id = ${auditId}`, 'audit_log'],
        [`DELETE FROM audit_log WHERE id = ${auditId}`, 'audit_log'],
        ['TRUNCATE audit_log', 'audit_log'],
        ['UPDATE audit_chain SET seq = seq', 'audit_chain'],
        ['DELETE FROM audit_chain', 'audit_chain'],
        ['DELETE FROM audit_checkpoints', 'audit_checkpoints'],
      ] as const) {
        const err = await refusal(asRole(client, service, statement));
        // 42501 with PostgreSQL's own wording: the grant refused it, before any trigger could run
        // (the 0013 trigger raises its own message).
        expect(err.code, statement).toBe('42501');
        expect(err.message, statement).toBe(`permission denied for table ${table}`);
      }
    });
  }

  it('grants the audit tables INSERT and SELECT only, and no service role TRUNCATE anywhere', async () => {
    const { rows } = await client.query(
      `SELECT grantee, table_name, array_agg(privilege_type::text ORDER BY privilege_type) AS privileges
         FROM information_schema.role_table_grants
        WHERE grantee LIKE 'sm2ca\\_%' AND table_name IN ('audit_log', 'audit_chain', 'audit_checkpoints')
        GROUP BY grantee, table_name`,
    );
    expect(rows).toHaveLength(services.length * 3);
    for (const row of rows)
      expect(row.privileges, `${row.grantee} on ${row.table_name}`).toEqual(['INSERT', 'SELECT']);
    const truncate = await client.query(
      `SELECT grantee, table_name FROM information_schema.role_table_grants
        WHERE grantee LIKE 'sm2ca\\_%' AND privilege_type IN ('TRUNCATE', 'REFERENCES', 'TRIGGER')`,
    );
    expect(truncate.rows).toEqual([]);
  });

  it('the owner is still stopped by the 0013 trigger: the grant is the refusal that reaches the services', async () => {
    const err = await refusal(
      (async () => {
        await client.query('BEGIN');
        try {
          await client.query(`DELETE FROM audit_log WHERE id = $1`, [auditId]);
        } finally {
          await client.query('ROLLBACK');
        }
      })(),
    );
    expect(err.message).not.toMatch(/^permission denied for table/);
  });

  it.each([
    ['ocsp', `UPDATE certificates SET status = 'revoked'`, 'certificates'],
    ['ocsp', `INSERT INTO crls (issuer_id) VALUES ('x')`, 'crls'],
    ['crl', `UPDATE certificates SET status = 'good'`, 'certificates'],
    ['km', 'SELECT * FROM download_codes', 'download_codes'],
    ['km', 'SELECT * FROM applications FOR UPDATE', 'applications'],
    ['ocsp', 'SELECT * FROM km_keys', 'km_keys'],
    ['crl', 'SELECT * FROM km_keys', 'km_keys'],
    ['ra', 'SELECT * FROM km_keys', 'km_keys'],
    ['ra', `UPDATE certificates SET der = der`, 'certificates'],
    ['ra', `UPDATE certificates SET status = status`, 'certificates'],
    ['ra', 'SELECT status FROM certificates FOR SHARE', 'certificates'],
    ['ca', 'SELECT * FROM operator_totp', 'operator_totp'],
    ['ca', 'DELETE FROM certificates', 'certificates'],
    ['ra', 'DELETE FROM applications', 'applications'],
    ['ra', 'SELECT * FROM key_backups', 'key_backups'],
    ['ocsp', 'INSERT INTO operators (name) VALUES ($$x$$)', 'operators'],
  ])('%s may not run: %s', async (service, statement, table) => {
    const err = await refusal(asRole(client, service, statement));
    expect(err.code).toBe('42501');
    expect(err.message).toBe(`permission denied for table ${table}`);
  });

  it('the RA share-locks certificates only through the 0022 lock function, which no other service may call', async () => {
    const locked = await asRole(client, 'ra', `SELECT lock_certificate_for_share('x', 'ab')`);
    expect(locked.rowCount).toBe(1);
    for (const service of ['ca', 'km', 'ocsp', 'crl']) {
      const err = await refusal(asRole(client, service, `SELECT lock_certificate_for_share('x', 'ab')`));
      expect(err.code, service).toBe('42501');
      expect(err.message).toBe('permission denied for function lock_certificate_for_share');
    }
    const { rows } = await client.query(
      `SELECT p.prosecdef, p.proconfig, r.rolsuper OR r.rolname = current_user AS owned_by_migrator
         FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE p.proname = 'lock_certificate_for_share'`,
    );
    expect(rows).toEqual([
      { prosecdef: true, proconfig: ['search_path=pg_catalog, public'], owned_by_migrator: true },
    ]);
  });
});
