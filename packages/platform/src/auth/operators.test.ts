import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../../test/support/test-database.ts';
import { addOperator, findOperatorByCredential } from './operators.ts';

describe('operators', () => {
  const db = useTestDatabase();
  const cli = { name: 'cli', role: 'ceremony' };

  it('stores only a digest of the one-time credential and finds the operator by it', async () => {
    const { operator, credential } = await addOperator(db.pool, cli, { name: 'Zhang San', role: 'reviewer' });
    expect(credential).toMatch(/^sm2op_[A-Za-z0-9_-]{43}$/);
    const stored = await db.pool.query('SELECT credential_digest FROM operators WHERE id = $1', [
      operator.id,
    ]);
    expect(stored.rows[0].credential_digest.toString('utf8')).not.toContain(credential.slice(6, 20));
    expect(await findOperatorByCredential(db.pool, credential)).toEqual(operator);
    expect(await findOperatorByCredential(db.pool, `${credential}x`)).toBeUndefined();
  });

  it('writes an audit record in the same transaction', async () => {
    const { operator } = await addOperator(db.pool, cli, { name: 'Li Si', role: 'entry_clerk' });
    const audit = await db.pool.query(
      "SELECT * FROM audit_log WHERE subject_type = 'operator' AND subject_id = $1",
      [operator.id],
    );
    expect(audit.rows[0]).toMatchObject({
      actor: 'cli',
      action: 'operator.add',
      after: { role: 'entry_clerk' },
    });
  });

  it('refuses unknown roles, bad names and duplicates with stable codes', async () => {
    await expect(addOperator(db.pool, cli, { name: 'X', role: 'root' })).rejects.toMatchObject({
      code: 'ROLE_UNKNOWN',
    });
    await expect(addOperator(db.pool, cli, { name: '', role: 'auditor' })).rejects.toMatchObject({
      code: 'OPERATOR_NAME_INVALID',
    });
    await addOperator(db.pool, cli, { name: 'Wang Wu', role: 'auditor' });
    await expect(addOperator(db.pool, cli, { name: 'Wang Wu', role: 'auditor' })).rejects.toMatchObject({
      code: 'OPERATOR_EXISTS',
    });
  });
});
