import { administrationPermissions } from './permissions/administration.ts';
import { auditPermissions } from './permissions/audit.ts';
import { caAdministrationPermissions } from './permissions/ca-administration.ts';
import { enrollmentPermissions } from './permissions/enrollment.ts';
import { evidencePermissions } from './permissions/evidence.ts';
import { lifecyclePermissions } from './permissions/lifecycle.ts';
import { recoveryPermissions } from './permissions/recovery.ts';
import { sessionPermissions } from './permissions/sessions.ts';
import { templatePermissions } from './permissions/templates.ts';
import type { Role } from './roles.ts';

/**
 * The role × action table, the one place that says who may do what. An action is
 * `family.verb`; a role missing from an action's list is denied, and an action missing from the
 * table cannot be named by a route (allowedTo takes only keys of this table). A route that still
 * says `access: ['reviewer']` is closed at run time and refused by the type checker: give its
 * action a line in its family's file (`'revocation.review': ['reviewer']`) and declare
 * `access: allowedTo('revocation.review')`; where it read `request.operator.role`, take
 * `operatorActor(request)` (the role it acts in).
 */
export const permissions = {
  ...enrollmentPermissions,
  ...recoveryPermissions,
  ...administrationPermissions,
  ...auditPermissions,
  ...lifecyclePermissions,
  ...caAdministrationPermissions,
  ...evidencePermissions,
  ...sessionPermissions,
  ...templatePermissions,
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof permissions;

/** A route's access rule: the permission it needs. Made only by allowedTo. */
export interface PermissionRule {
  readonly permission: Permission;
  readonly roles: readonly Role[];
}

const rules = new Map<Permission, PermissionRule>();

/** `config: { access: allowedTo('application.review') }`: the route needs that permission. */
export function allowedTo(permission: Permission): PermissionRule {
  let rule = rules.get(permission);
  if (!rule) {
    rule = Object.freeze({ permission, roles: permissions[permission] });
    rules.set(permission, rule);
  }
  return rule;
}

/** Whether a value is a rule allowedTo made (and not, say, a bare array of roles). */
export function isPermissionRule(value: unknown): value is PermissionRule {
  return (
    typeof value === 'object' && value !== null && rules.get((value as PermissionRule).permission) === value
  );
}

export function mayDo(role: Role, permission: Permission): boolean {
  return (permissions[permission] as readonly Role[]).includes(role);
}

/**
 * The role an operator acts in for a permission: the first of their roles the table allows
 * (their roles are kept in the order of `roles`). Audit records name this role.
 */
export function actingRole(held: readonly Role[], permission: Permission): Role | undefined {
  return held.find((role) => mayDo(role, permission));
}
