import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../../test/support/test-database.ts';
import { createFirstSuperAdmin } from './first-super-admin.ts';
import { addOperator, findOperatorByCredential } from './operators.ts';

describe('operators', () => {
  const db = useTestDatabase();
  const cli = { name: 'cli', role: 'key_ceremony' };

  it('stores only a digest of the one-time credential and finds the operator with their roles by it', async () => {
    const { operator, credential } = await addOperator(db.pool, cli, {
      name: 'Zhang San',
      identity: 'staff-0001',
      roles: ['certificate_maker', 'reviewer'],
    });
    expect(credential).toMatch(/^sm2op_[A-Za-z0-9_-]{43}$/);
    expect(operator.roles).toEqual(['reviewer', 'certificate_maker']);
    const stored = await db.pool.query('SELECT credential_digest FROM operators WHERE id = $1', [
      operator.id,
    ]);
    expect(stored.rows[0].credential_digest.toString('utf8')).not.toContain(credential.slice(6, 20));
    expect(await findOperatorByCredential(db.pool, credential)).toEqual(operator);
    expect(await findOperatorByCredential(db.pool, `${credential}x`)).toBeUndefined();
  });

  it('writes an audit record in the same transaction', async () => {
    const { operator } = await addOperator(db.pool, cli, {
      name: 'Li Si',
      identity: 'staff-0002',
      roles: ['entry_clerk'],
    });
    const audit = await db.pool.query(
      "SELECT * FROM audit_log WHERE subject_type = 'operator' AND subject_id = $1",
      [operator.id],
    );
    expect(audit.rows[0]).toMatchObject({
      actor: 'cli',
      action: 'operator.add',
      after: { roles: ['entry_clerk'], identity: 'staff-0002' },
    });
  });

  it('refuses unknown roles, no roles, incompatible roles, bad names and duplicates with stable codes', async () => {
    const add = (name: string, identity: string, roles: string[]) =>
      addOperator(db.pool, cli, { name, identity, roles });
    await expect(add('X', 'x-1', ['root'])).rejects.toMatchObject({ code: 'ROLE_UNKNOWN' });
    await expect(add('X', 'x-1', [])).rejects.toMatchObject({ code: 'ROLES_REQUIRED' });
    await expect(add('X', 'x-1', ['entry_clerk', 'reviewer'])).rejects.toMatchObject({
      code: 'ROLES_INCOMPATIBLE',
    });
    await expect(add('', 'x-1', ['auditor'])).rejects.toMatchObject({ code: 'OPERATOR_NAME_INVALID' });
    await expect(add('X', '', ['auditor'])).rejects.toMatchObject({ code: 'OPERATOR_IDENTITY_INVALID' });
    await add('Wang Wu', 'staff-0003', ['auditor']);
    await expect(add('Wang Wu', 'staff-0004', ['auditor'])).rejects.toMatchObject({
      code: 'OPERATOR_EXISTS',
    });
    // One person, two names: the identity gives them away.
    await expect(add('Wang Wu 2', 'staff-0003', ['reviewer'])).rejects.toMatchObject({
      code: 'OPERATOR_EXISTS',
    });
  });

  it('makes the first super admin once, from the key ceremony only while there is none', async () => {
    const first = await createFirstSuperAdmin(db.pool, { name: 'Root Admin', identity: 'staff-0100' });
    expect(first?.operator.roles).toEqual(['super_admin']);
    expect(
      await createFirstSuperAdmin(db.pool, { name: 'Second Root', identity: 'staff-0101' }),
    ).toBeUndefined();
    const count = await db.pool.query("SELECT count(*)::int AS n FROM operators WHERE name = 'Second Root'");
    expect(count.rows[0].n).toBe(0);
  });
});
