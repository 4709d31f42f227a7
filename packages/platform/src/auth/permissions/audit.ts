import type { Role } from '../roles.ts';

/**
 * The auditor reads, exports and verifies the audit trail and changes nothing; the audit admin manages
 * its settings (retention, archive, checkpoint interval) and archives closed months, and reads
 * neither the trail nor business data: what they see of an archive is its register line
 * (month, digest, counts), never its records; the auditor fetches archive files (audit.export).
 * Both read the settings and the archive register,
 * which hold no records.
 */
export const auditPermissions = {
  'audit.read': ['auditor'],
  'audit.export': ['auditor'],
  'audit.verify': ['auditor'],
  'audit.manage_settings': ['audit_admin'],
  'audit.read_settings': ['audit_admin', 'auditor'],
  'audit.archive': ['audit_admin'],
  'audit.read_archives': ['auditor', 'audit_admin'],
} as const satisfies Record<string, readonly Role[]>;
