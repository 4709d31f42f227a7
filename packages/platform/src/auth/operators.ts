import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import { AppError } from '../app-error.ts';
import { type Actor, recordAudit } from '../audit.ts';
import { credentialDigest, newCredential } from './credential.ts';
import { isRole, type Role, roles, sortedRoles } from './roles.ts';
import { requireSeparationOfDuties } from './separation-of-duties.ts';

/** A person who operates the CA, with every role they hold (compatible ones only). */
export interface Operator {
  id: string;
  name: string;
  roles: Role[];
}

/** Who grants: an operator (id known) or the key ceremony (no id). */
export type Granter = Actor & { id?: string };

export interface NewOperator {
  name: string;
  /** What names the person outside this system, e.g. a staff ID number; unique. */
  identity: string;
  roles: readonly string[];
}

/** Checks a requested role set: known roles, at least one, compatible (separation of duties). */
export function validRoles(requested: readonly string[]): Role[] {
  const unknown = requested.filter((role) => !isRole(role));
  if (unknown.length > 0) {
    throw new AppError('ROLE_UNKNOWN', `unknown role "${unknown[0]}"; one of: ${roles.join(', ')}`);
  }
  const held = sortedRoles(requested as Role[]);
  if (held.length === 0) throw new AppError('ROLES_REQUIRED', 'an operator holds at least one role');
  requireSeparationOfDuties(held);
  return held;
}

function validName(input: string): string {
  const name = input.trim();
  if (!/^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u.test(name)) {
    throw new AppError('OPERATOR_NAME_INVALID', 'operator name: 1-64 letters, digits, spaces, . _ -');
  }
  return name;
}

function validIdentity(input: string): string {
  const identity = input.trim();
  if (!/^[\p{L}\p{N}][\p{L}\p{N}._:/-]{0,63}$/u.test(identity)) {
    throw new AppError(
      'OPERATOR_IDENTITY_INVALID',
      'operator identity (e.g. staff ID number): 1-64 letters, digits, . _ : / -',
    );
  }
  return identity;
}

/** Replaces an operator's roles inside the caller's transaction. */
export async function storeRoles(
  client: PoolClient,
  operatorId: string,
  held: readonly Role[],
  grantedBy: string | undefined,
): Promise<void> {
  await client.query('DELETE FROM operator_roles WHERE operator_id = $1 AND NOT (role = ANY($2))', [
    operatorId,
    held,
  ]);
  await client.query(
    `INSERT INTO operator_roles (operator_id, role, granted_by)
     SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING`,
    [operatorId, held, grantedBy ?? null],
  );
}

/** Creates an operator in the caller's transaction and returns the one-time credential. */
export async function insertOperator(
  client: PoolClient,
  granter: Granter,
  input: NewOperator,
): Promise<{ operator: Operator; credential: string }> {
  const held = validRoles(input.roles);
  const name = validName(input.name);
  const identity = validIdentity(input.identity);
  const credential = newCredential('sm2op');
  const inserted = await client.query(
    `INSERT INTO operators (name, identity, credential_digest) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING RETURNING id`,
    [name, identity, credentialDigest(credential)],
  );
  if (inserted.rowCount === 0) {
    throw new AppError(
      'OPERATOR_EXISTS',
      `an operator named "${name}" or with identity "${identity}" exists`,
      409,
    );
  }
  const operator: Operator = { id: String(inserted.rows[0].id), name, roles: held };
  await storeRoles(client, operator.id, held, granter.id);
  await recordAudit(client, granter, {
    action: 'operator.add',
    subjectType: 'operator',
    subjectId: operator.id,
    after: { name, identity, roles: held },
  });
  return { operator, credential };
}

/** Creates an operator and returns the one-time credential; only its digest is stored. */
export async function addOperator(
  pool: Pool,
  granter: Granter,
  input: NewOperator,
): Promise<{ operator: Operator; credential: string }> {
  return withTransaction(pool, (client) => insertOperator(client, granter, input));
}

const operatorSelect = `
  SELECT o.id, o.name, array_remove(array_agg(r.role), NULL) AS roles
    FROM operators o LEFT JOIN operator_roles r ON r.operator_id = o.id`;

const toOperator = (row: { id: unknown; name: string; roles: Role[] }): Operator => ({
  id: String(row.id),
  name: row.name,
  roles: sortedRoles(row.roles),
});

export async function findOperatorByCredential(
  pool: Pool,
  credential: string,
): Promise<Operator | undefined> {
  const { rows } = await pool.query(
    `${operatorSelect} WHERE o.credential_digest = $1 AND o.disabled_at IS NULL GROUP BY o.id`,
    [credentialDigest(credential)],
  );
  return rows[0] ? toOperator(rows[0]) : undefined;
}

export async function findOperatorById(pool: Pool, id: string): Promise<Operator | undefined> {
  const { rows } = await pool.query(
    `${operatorSelect} WHERE o.id = $1 AND o.disabled_at IS NULL GROUP BY o.id`,
    [id],
  );
  return rows[0] ? toOperator(rows[0]) : undefined;
}
