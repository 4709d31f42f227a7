import { type Pool, withTransaction } from '@sm2ca/store';
import { AppError } from '../app-error.ts';
import { type Actor, recordAudit } from '../audit.ts';
import { credentialDigest, newCredential } from './credential.ts';
import { isRole, type Role, roles } from './roles.ts';

export interface Operator {
  id: string;
  name: string;
  role: Role;
}

/** Creates an operator and returns the one-time credential; only its digest is stored. */
export async function addOperator(
  pool: Pool,
  actor: Actor,
  input: { name: string; role: string },
): Promise<{ operator: Operator; credential: string }> {
  if (!isRole(input.role)) {
    throw new AppError('ROLE_UNKNOWN', `unknown role "${input.role}"; one of: ${roles.join(', ')}`);
  }
  const name = input.name.trim();
  if (!/^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u.test(name)) {
    throw new AppError('OPERATOR_NAME_INVALID', 'operator name: 1-64 letters, digits, spaces, . _ -');
  }
  const credential = newCredential('sm2op');
  return withTransaction(pool, async (client) => {
    const inserted = await client.query(
      `INSERT INTO operators (name, role, credential_digest) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO NOTHING RETURNING id`,
      [name, input.role, credentialDigest(credential)],
    );
    if (inserted.rowCount === 0)
      throw new AppError('OPERATOR_EXISTS', `an operator named "${name}" exists`, 409);
    const operator: Operator = { id: String(inserted.rows[0].id), name, role: input.role as Role };
    await recordAudit(client, actor, {
      action: 'operator.add',
      subjectType: 'operator',
      subjectId: operator.id,
      after: { name, role: operator.role },
    });
    return { operator, credential };
  });
}

export async function findOperatorByCredential(
  pool: Pool,
  credential: string,
): Promise<Operator | undefined> {
  const { rows } = await pool.query(
    'SELECT id, name, role FROM operators WHERE credential_digest = $1 AND disabled_at IS NULL',
    [credentialDigest(credential)],
  );
  const row = rows[0];
  return row ? { id: String(row.id), name: row.name, role: row.role } : undefined;
}
