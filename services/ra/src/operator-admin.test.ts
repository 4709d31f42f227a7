import { describe, expect, it } from 'vitest';
import { useRaTestBed } from './test-support/ra-test-bed.ts';

describe('operator management on the RA', () => {
  const bed = useRaTestBed();
  let serial = 0;
  const add = (roles: string[], who: 'superAdmin' | 'superAdmin2' = 'superAdmin') => {
    serial += 1;
    return bed.call(who, 'POST', '/v1/admin/operators', {
      name: `person-${serial}`,
      identity: `staff-id-${serial}`,
      roles,
    });
  };
  const as = (credential: string, method: 'GET' | 'POST', url: string, body?: object) =>
    bed.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${credential}` },
      ...(body ? { payload: body } : {}),
    });
  const auditOf = async (operatorId: string) =>
    (
      await bed.pool.query(
        "SELECT actor, actor_role, action, after FROM audit_log WHERE subject_type = 'operator' AND subject_id = $1 ORDER BY id",
        [operatorId],
      )
    ).rows;

  it('adds an operator with compatible roles whose credential works at once, and lists them', async () => {
    const added = await add(['certificate_maker', 'entry_clerk']);
    expect(added.statusCode, added.body).toBe(201);
    const { operator, credential } = added.json();
    expect(operator).toMatchObject({ roles: ['entry_clerk', 'certificate_maker'], disabledAt: null });
    expect((await as(credential, 'GET', '/v1/applications')).statusCode).toBe(200);
    const listed = (await bed.call('superAdmin', 'GET', '/v1/admin/operators')).json().items;
    expect(listed.find((o: { id: string }) => o.id === operator.id)).toEqual(operator);
    expect(await auditOf(operator.id)).toEqual([
      expect.objectContaining({ actor: 'op-superAdmin', actor_role: 'super_admin', action: 'operator.add' }),
    ]);
  });

  it('refuses incompatible roles, one person under a second name, and non-administrators; refusals are audited', async () => {
    const clash = await add(['entry_clerk', 'reviewer']);
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error.code).toBe('ROLES_INCOMPATIBLE');
    const first = (await add(['auditor'])).json().operator;
    const twice = await bed.call('superAdmin', 'POST', '/v1/admin/operators', {
      name: 'another name',
      identity: first.identity,
      roles: ['reviewer'],
    });
    expect(twice.json().error.code).toBe('OPERATOR_EXISTS');
    for (const who of ['admin', 'auditAdmin', 'auditor', 'clerk', 'keyAdmin'] as const) {
      const res = await bed.call(who, 'POST', '/v1/admin/operators', {
        name: 'x',
        identity: 'x',
        roles: ['reviewer'],
      });
      expect(res.json().error.code, who).toBe('ROLE_FORBIDDEN');
    }
    const refusals = await bed.pool.query(
      "SELECT actor, after->>'code' AS code FROM audit_log WHERE action = 'operator.refuse' ORDER BY id",
    );
    expect(refusals.rows).toEqual(
      expect.arrayContaining([
        { actor: 'op-superAdmin', code: 'ROLES_INCOMPATIBLE' },
        { actor: 'op-superAdmin', code: 'OPERATOR_EXISTS' },
        { actor: 'op-auditor', code: 'ROLE_FORBIDDEN' },
        { actor: 'op-clerk', code: 'ROLE_FORBIDDEN' },
      ]),
    );
  });

  it('disables an operator and rotates a credential: the old credential stops working', async () => {
    const { operator, credential } = (await add(['reviewer'])).json();
    const rotated = await bed.call('superAdmin', 'POST', `/v1/admin/operators/${operator.id}/credential`);
    expect(rotated.statusCode, rotated.body).toBe(200);
    const fresh = rotated.json().credential;
    expect(fresh).not.toBe(credential);
    expect((await as(credential, 'GET', '/v1/applications')).json().error.code).toBe('AUTH_INVALID');
    expect((await as(fresh, 'GET', '/v1/applications')).statusCode).toBe(200);
    const disabled = await bed.call('superAdmin', 'POST', `/v1/admin/operators/${operator.id}/disable`);
    expect(disabled.json().disabledAt).not.toBeNull();
    expect((await as(fresh, 'GET', '/v1/applications')).json().error.code).toBe('AUTH_INVALID');
    const again = await bed.call('superAdmin', 'POST', `/v1/admin/operators/${operator.id}/disable`);
    expect(again.json().error.code).toBe('OPERATOR_DISABLED');
    expect((await auditOf(operator.id)).map((r) => r.action)).toEqual([
      'operator.add',
      'operator.rotate_credential',
      'operator.disable',
      'operator.refuse',
    ]);
  });

  it('changes roles only when a second, different administrator approves', async () => {
    const { operator, credential } = (await add(['entry_clerk'])).json();
    const asked = await bed.call('superAdmin', 'POST', `/v1/admin/operators/${operator.id}/role-changes`, {
      roles: ['reviewer'],
    });
    expect(asked.statusCode, asked.body).toBe(201);
    const change = asked.json();
    expect(change).toMatchObject({ status: 'pending', roles: ['reviewer'] });
    // Nothing changed yet: the operator still enters and does not review.
    expect(
      (await as(credential, 'POST', '/v1/applications/1/review', { decision: 'approve' })).json().error.code,
    ).toBe('ROLE_FORBIDDEN');
    const second = await bed.call('superAdmin', 'POST', `/v1/admin/operators/${operator.id}/role-changes`, {
      roles: ['auditor'],
    });
    expect(second.json().error.code).toBe('ROLE_CHANGE_PENDING');
    const own = await bed.call('superAdmin', 'POST', `/v1/admin/role-changes/${change.id}/approve`);
    expect(own.statusCode).toBe(403);
    expect(own.json().error.code).toBe('ROLE_CHANGE_SAME_ADMINISTRATOR');
    const byClerk = await bed.call('clerk', 'POST', `/v1/admin/role-changes/${change.id}/approve`);
    expect(byClerk.json().error.code).toBe('ROLE_FORBIDDEN');
    const approved = await bed.call('superAdmin2', 'POST', `/v1/admin/role-changes/${change.id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'approved', decidedBy: bed.ids.superAdmin2 });
    expect((await as(credential, 'POST', '/v1/applications', {})).json().error.code).toBe('ROLE_FORBIDDEN');
    expect(
      (await as(credential, 'POST', '/v1/applications/999999/review', { decision: 'approve' })).statusCode,
    ).toBe(404);
    const twice = await bed.call('superAdmin2', 'POST', `/v1/admin/role-changes/${change.id}/approve`);
    expect(twice.json().error.code).toBe('ROLE_CHANGE_DECIDED');
    expect((await auditOf(operator.id)).map((r) => `${r.action} by ${r.actor}`)).toEqual([
      'operator.add by op-superAdmin',
      'operator.role_change.request by op-superAdmin',
      'operator.refuse by op-superAdmin',
      'operator.role_change.approve by op-superAdmin2',
    ]);
    const roles = await bed.pool.query('SELECT role, granted_by FROM operator_roles WHERE operator_id = $1', [
      operator.id,
    ]);
    expect(roles.rows).toEqual([{ role: 'reviewer', granted_by: bed.ids.superAdmin2 }]);
  });

  it('refuses a role change into incompatible roles, a change of the approver’s own roles, and losing the last super admin', async () => {
    const { operator } = (await add(['reviewer'])).json();
    const clash = await bed.call('superAdmin', 'POST', `/v1/admin/operators/${operator.id}/role-changes`, {
      roles: ['reviewer', 'auditor'],
    });
    expect(clash.json().error.code).toBe('ROLES_INCOMPATIBLE');
    const self = (
      await bed.call('superAdmin', 'POST', `/v1/admin/operators/${bed.ids.superAdmin2}/role-changes`, {
        roles: ['business_admin'],
      })
    ).json();
    const ownRoles = await bed.call('superAdmin2', 'POST', `/v1/admin/role-changes/${self.id}/approve`);
    expect(ownRoles.json().error.code).toBe('ROLE_CHANGE_OWN_ROLES');
    const withdrawn = await bed.call('superAdmin', 'POST', `/v1/admin/role-changes/${self.id}/reject`);
    expect(withdrawn.json().status).toBe('rejected');
    // With superAdmin2 disabled, superAdmin is the last one and cannot be disabled.
    const other = (await add(['super_admin'])).json();
    expect(
      (await bed.call('superAdmin', 'POST', `/v1/admin/operators/${other.operator.id}/disable`)).statusCode,
    ).toBe(200);
    expect(
      (await bed.call('superAdmin', 'POST', `/v1/admin/operators/${bed.ids.superAdmin2}/disable`)).statusCode,
    ).toBe(200);
    const last = await bed.call('superAdmin', 'POST', `/v1/admin/operators/${bed.ids.superAdmin}/disable`);
    expect(last.json().error.code).toBe('LAST_SUPER_ADMIN');
  });
});
