import type { Role } from '../roles.ts';

/**
 * Compliance figures (deadlines, revocation timeliness, the CRL archive, the directory queue) carry
 * no holder data: the business admin who answers for them and the auditor who checks them read them.
 */
export const evidencePermissions = {
  'evidence.read': ['business_admin', 'auditor'],
  'directory.read': ['business_admin', 'auditor'],
  // Planned maintenance is announced by the business admin who answers for availability.
  'maintenance.read': ['business_admin', 'auditor'],
  'maintenance.create': ['business_admin'],
} as const satisfies Record<string, readonly Role[]>;
