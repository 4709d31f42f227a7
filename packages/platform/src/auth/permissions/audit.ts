import type { Role } from '../roles.ts';

/**
 * The auditor reads and exports the audit trail and changes nothing; the audit admin manages
 * its settings (retention, archive, checkpoint sinks) and reads neither the trail nor business
 * data. For the audit routes that the audit-access work adds.
 */
export const auditPermissions = {
  'audit.read': ['auditor'],
  'audit.export': ['auditor'],
  'audit.manage_settings': ['audit_admin'],
} as const satisfies Record<string, readonly Role[]>;
