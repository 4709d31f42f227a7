import { type Pool, withTransaction } from '@sm2ca/store';
import type { Actor } from '../audit.ts';
import { insertOperator, type Operator } from './operators.ts';

/** The key ceremony: the one path that makes an operator with shell access alone. */
export const keyCeremony: Actor = { name: 'cli', role: 'key_ceremony' };

/**
 * The first super admin, made by the key ceremony while the CA has no active super admin;
 * undefined when it has one (every later operator comes through the operator API, under a
 * super admin's credential). The table lock makes two ceremonies at once make only one.
 */
export async function createFirstSuperAdmin(
  pool: Pool,
  input: { name: string; identity: string },
): Promise<{ operator: Operator; credential: string } | undefined> {
  return withTransaction(pool, async (client) => {
    await client.query('LOCK TABLE operator_roles IN SHARE ROW EXCLUSIVE MODE');
    const { rows } = await client.query(
      `SELECT 1 FROM operators o JOIN operator_roles r ON r.operator_id = o.id
        WHERE r.role = 'super_admin' AND o.disabled_at IS NULL LIMIT 1`,
    );
    if (rows[0]) return undefined;
    return insertOperator(client, keyCeremony, { ...input, roles: ['super_admin'] });
  });
}
