import type { Role } from '../roles.ts';

/**
 * Operators and their roles are managed by super admins only; a role change needs a second
 * super admin's approval (operator-management.ts), so no single administrator can give anyone,
 * themselves included, new powers.
 */
export const administrationPermissions = {
  'operator.add': ['super_admin'],
  'operator.list': ['super_admin'],
  'operator.disable': ['super_admin'],
  'operator.rotate_credential': ['super_admin'],
  'operator.request_role_change': ['super_admin'],
  'operator.approve_role_change': ['super_admin'],
  // Binding a login certificate makes the operator a person who logs in with it: an administrator's act.
  'operator.enrol_login': ['super_admin'],
  // An operator's own certificate (application, renewal, re-key, freeze, unfreeze, revocation) is
  // entered and issued like a holder's, but decided by a super admin, never by a reviewer.
  'operator_certificate.decide': ['super_admin'],
  'operator_certificate.read': ['super_admin'],
} as const satisfies Record<string, readonly Role[]>;
