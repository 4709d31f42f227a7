import type { Role } from '../roles.ts';

/**
 * Certificate templates are the business administrator's: one drafts a version or a retirement,
 * another approves it. The super admin manages operators, not what certificates say, so holding
 * both powers never lets one person both appoint an administrator and approve a template.
 */
export const templatePermissions = {
  'template.read': ['business_admin', 'auditor'],
  'template.draft': ['business_admin'],
  'template.approve': ['business_admin'],
} as const satisfies Record<string, readonly Role[]>;
