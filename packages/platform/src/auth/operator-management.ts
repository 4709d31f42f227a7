import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import { AppError } from '../app-error.ts';
import { type Actor, recordAudit } from '../audit.ts';
import { credentialDigest, newCredential } from './credential.ts';
import { insertOperator, type NewOperator, type Operator, storeRoles, validRoles } from './operators.ts';
import { type Role, sortedRoles } from './roles.ts';

/** The administrator acting, as access control authenticated them. */
export type Administrator = Actor & { id: string };

export interface OperatorRecord {
  id: string;
  name: string;
  identity: string;
  roles: Role[];
  createdAt: string;
  disabledAt: string | null;
}

export interface RoleChange {
  id: string;
  operatorId: string;
  roles: Role[];
  status: 'pending' | 'approved' | 'rejected';
  requestedBy: string;
  requestedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
}

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : null);

const recordSelect = `
  SELECT o.id, o.name, o.identity, o.created_at, o.disabled_at,
         array_remove(array_agg(r.role), NULL) AS roles
    FROM operators o LEFT JOIN operator_roles r ON r.operator_id = o.id`;

type Row = Record<string, unknown>;

const toRecord = (row: Row): OperatorRecord => ({
  id: String(row.id),
  name: row.name as string,
  identity: row.identity as string,
  roles: sortedRoles(row.roles as Role[]),
  createdAt: iso(row.created_at)!,
  disabledAt: iso(row.disabled_at),
});

const toChange = (row: Row): RoleChange => ({
  id: String(row.id),
  operatorId: String(row.operator_id),
  roles: sortedRoles(row.roles as Role[]),
  status: row.status as RoleChange['status'],
  requestedBy: String(row.requested_by),
  requestedAt: iso(row.requested_at)!,
  decidedBy: row.decided_by == null ? null : String(row.decided_by),
  decidedAt: iso(row.decided_at),
});

export async function listOperators(pool: Pool): Promise<OperatorRecord[]> {
  const { rows } = await pool.query(`${recordSelect} GROUP BY o.id ORDER BY o.id`);
  return rows.map(toRecord);
}

export async function readOperatorRecord(pool: Pool, id: string): Promise<OperatorRecord> {
  const { rows } = await pool.query(`${recordSelect} WHERE o.id = $1 GROUP BY o.id`, [id]);
  if (!rows[0]) throw new AppError('OPERATOR_NOT_FOUND', `there is no operator ${id}`, 404);
  return toRecord(rows[0]);
}

/** The operator's row, locked for the change the caller's transaction makes. */
async function lockOperator(client: PoolClient, id: string): Promise<OperatorRecord> {
  const locked = await client.query('SELECT id FROM operators WHERE id = $1 FOR UPDATE', [id]);
  if (!locked.rows[0]) throw new AppError('OPERATOR_NOT_FOUND', `there is no operator ${id}`, 404);
  const { rows } = await client.query(`${recordSelect} WHERE o.id = $1 GROUP BY o.id`, [id]);
  return toRecord(rows[0]);
}

function requireActive(operator: OperatorRecord): void {
  if (operator.disabledAt) {
    throw new AppError('OPERATOR_DISABLED', `operator ${operator.name} is disabled`, 409);
  }
}

/**
 * Refuses a change that would leave no active super admin: nobody could then manage operators,
 * and only a new key ceremony could make one.
 */
async function requireAnotherSuperAdmin(client: PoolClient, operatorId: string): Promise<void> {
  const { rows } = await client.query(
    `SELECT o.id FROM operators o JOIN operator_roles r ON r.operator_id = o.id
      WHERE r.role = 'super_admin' AND o.disabled_at IS NULL AND o.id <> $1 FOR UPDATE OF o`,
    [operatorId],
  );
  if (rows.length === 0) {
    throw new AppError('LAST_SUPER_ADMIN', 'this would leave the CA without an active super admin', 409);
  }
}

export async function addOperatorAs(
  pool: Pool,
  admin: Administrator,
  input: NewOperator,
): Promise<{ operator: Operator; credential: string }> {
  return withTransaction(pool, (client) => insertOperator(client, admin, input));
}

export async function disableOperator(pool: Pool, admin: Administrator, id: string): Promise<OperatorRecord> {
  return withTransaction(pool, async (client) => {
    const operator = await lockOperator(client, id);
    requireActive(operator);
    if (operator.roles.includes('super_admin')) await requireAnotherSuperAdmin(client, id);
    const { rows } = await client.query(
      'UPDATE operators SET disabled_at = now() WHERE id = $1 RETURNING disabled_at',
      [id],
    );
    await client.query(
      `UPDATE operator_role_changes SET status = 'rejected', decided_by = $2, decided_at = now()
        WHERE operator_id = $1 AND status = 'pending'`,
      [id, admin.id],
    );
    await recordAudit(client, admin, {
      action: 'operator.disable',
      subjectType: 'operator',
      subjectId: id,
      before: { disabledAt: null },
      after: { disabledAt: iso(rows[0].disabled_at) },
    });
    return { ...operator, disabledAt: iso(rows[0].disabled_at) };
  });
}

/** A new one-time credential; the old one stops working in the same transaction. */
export async function rotateCredential(
  pool: Pool,
  admin: Administrator,
  id: string,
): Promise<{ operator: OperatorRecord; credential: string }> {
  return withTransaction(pool, async (client) => {
    const operator = await lockOperator(client, id);
    requireActive(operator);
    const credential = newCredential('sm2op');
    await client.query('UPDATE operators SET credential_digest = $2 WHERE id = $1', [
      id,
      credentialDigest(credential),
    ]);
    await recordAudit(client, admin, {
      action: 'operator.rotate_credential',
      subjectType: 'operator',
      subjectId: id,
    });
    return { operator, credential };
  });
}

/** Asks for an operator's roles to become `requested`; nothing changes until another admin approves. */
export async function requestRoleChange(
  pool: Pool,
  admin: Administrator,
  id: string,
  requested: readonly string[],
): Promise<RoleChange> {
  const held = validRoles(requested);
  return withTransaction(pool, async (client) => {
    const operator = await lockOperator(client, id);
    requireActive(operator);
    const pending = await client.query(
      "SELECT id FROM operator_role_changes WHERE operator_id = $1 AND status = 'pending'",
      [id],
    );
    if (pending.rows[0]) {
      throw new AppError(
        'ROLE_CHANGE_PENDING',
        `operator ${operator.name} has a role change waiting (${pending.rows[0].id}); approve or reject it first`,
        409,
        { roleChangeId: String(pending.rows[0].id) },
      );
    }
    const { rows } = await client.query(
      'INSERT INTO operator_role_changes (operator_id, roles, requested_by) VALUES ($1, $2, $3) RETURNING *',
      [id, held, admin.id],
    );
    const change = toChange(rows[0]);
    await recordAudit(client, admin, {
      action: 'operator.role_change.request',
      subjectType: 'operator',
      subjectId: id,
      before: { roles: operator.roles },
      after: { roleChangeId: change.id, roles: held },
    });
    return change;
  });
}

async function lockPendingChange(client: PoolClient, changeId: string): Promise<RoleChange> {
  const { rows } = await client.query('SELECT * FROM operator_role_changes WHERE id = $1 FOR UPDATE', [
    changeId,
  ]);
  if (!rows[0]) throw new AppError('ROLE_CHANGE_NOT_FOUND', `there is no role change ${changeId}`, 404);
  const change = toChange(rows[0]);
  if (change.status !== 'pending') {
    throw new AppError('ROLE_CHANGE_DECIDED', `role change ${changeId} was ${change.status} already`, 409);
  }
  return change;
}

/**
 * The second administrator's approval makes a role change take effect. Nobody approves their
 * own request or a change of their own roles; the roles are checked again, as the operator
 * may have changed since the request.
 */
export async function approveRoleChange(
  pool: Pool,
  admin: Administrator,
  changeId: string,
): Promise<RoleChange> {
  return withTransaction(pool, async (client) => {
    const change = await lockPendingChange(client, changeId);
    if (change.requestedBy === admin.id) {
      throw new AppError(
        'ROLE_CHANGE_SAME_ADMINISTRATOR',
        'a role change is approved by a second administrator, not by the one who asked for it',
        403,
      );
    }
    if (change.operatorId === admin.id) {
      throw new AppError('ROLE_CHANGE_OWN_ROLES', 'nobody approves a change of their own roles', 403);
    }
    const operator = await lockOperator(client, change.operatorId);
    requireActive(operator);
    const held = validRoles(change.roles);
    if (operator.roles.includes('super_admin') && !held.includes('super_admin')) {
      await requireAnotherSuperAdmin(client, operator.id);
    }
    await storeRoles(client, operator.id, held, admin.id);
    const { rows } = await client.query(
      `UPDATE operator_role_changes SET status = 'approved', decided_by = $2, decided_at = now()
        WHERE id = $1 RETURNING *`,
      [changeId, admin.id],
    );
    await recordAudit(client, admin, {
      action: 'operator.role_change.approve',
      subjectType: 'operator',
      subjectId: operator.id,
      before: { roles: operator.roles },
      after: { roleChangeId: changeId, roles: held, requestedBy: change.requestedBy },
    });
    return toChange(rows[0]);
  });
}

/** Another administrator turns a role change down, or the one who asked withdraws it. */
export async function rejectRoleChange(
  pool: Pool,
  admin: Administrator,
  changeId: string,
): Promise<RoleChange> {
  return withTransaction(pool, async (client) => {
    const change = await lockPendingChange(client, changeId);
    if (change.operatorId === admin.id && change.requestedBy !== admin.id) {
      throw new AppError('ROLE_CHANGE_OWN_ROLES', 'nobody decides a change of their own roles', 403);
    }
    const { rows } = await client.query(
      `UPDATE operator_role_changes SET status = 'rejected', decided_by = $2, decided_at = now()
        WHERE id = $1 RETURNING *`,
      [changeId, admin.id],
    );
    await recordAudit(client, admin, {
      action: 'operator.role_change.reject',
      subjectType: 'operator',
      subjectId: change.operatorId,
      after: { roleChangeId: changeId, roles: change.roles },
    });
    return toChange(rows[0]);
  });
}

export async function listRoleChanges(pool: Pool, status?: RoleChange['status']): Promise<RoleChange[]> {
  const { rows } = await pool.query(
    'SELECT * FROM operator_role_changes WHERE $1::text IS NULL OR status = $1 ORDER BY id',
    [status ?? null],
  );
  return rows.map(toChange);
}
