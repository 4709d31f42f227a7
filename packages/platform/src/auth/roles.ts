/**
 * Operator roles (GM-NOTES: entry clerk ≠ reviewer; operator ≠ auditor). The administrators
 * (super, business, audit) run the CA, the business operators (entry clerk, reviewer,
 * certificate maker) run the RA workflow, the auditor reads the audit trail. The key
 * administrator and the judicial officer stand outside the RA business: they act only on
 * judicial key recovery and read no other RA records. What each may do is in permissions.ts;
 * which roles one person may hold together is in separation-of-duties.ts.
 */
export const roles = [
  'super_admin',
  'business_admin',
  'audit_admin',
  'entry_clerk',
  'reviewer',
  'certificate_maker',
  'auditor',
  'key_administrator',
  'judicial_officer',
] as const;
export type Role = (typeof roles)[number];

export const roleNames: Record<Role, string> = {
  super_admin: 'super admin (超级管理员)',
  business_admin: 'business admin (业务管理员)',
  audit_admin: 'audit admin (审计管理员)',
  entry_clerk: 'entry clerk (录入员)',
  reviewer: 'reviewer (审核员)',
  certificate_maker: 'certificate maker (制证员)',
  auditor: 'auditor (审计员)',
  key_administrator: 'key administrator (密钥管理员)',
  judicial_officer: 'judicial officer (司法取证人员)',
};

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}

/** The roles in the order of `roles`, each once: how an operator's roles are stored and shown. */
export function sortedRoles(held: Iterable<Role>): Role[] {
  const set = new Set(held);
  return roles.filter((role) => set.has(role));
}
