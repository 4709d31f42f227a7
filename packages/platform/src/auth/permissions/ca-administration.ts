import type { Role } from '../roles.ts';

/**
 * CA-level actions (revoking a CA, RA or OCSP-signer certificate, rotating the RA key, a new
 * subordinate CA, signing outside issuance) are requested and approved by super admins only,
 * m of them and never the requester (dual control).
 */
export const caAdministrationPermissions = {
  'ca_action.request': ['super_admin'],
  'ca_action.read': ['super_admin'],
  'ca_action.decide': ['super_admin'],
  'ca_action.execute': ['super_admin'],
} as const satisfies Record<string, readonly Role[]>;
