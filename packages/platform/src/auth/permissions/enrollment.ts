import type { Role } from '../roles.ts';
import { businessOperators } from './business-operators.ts';

/**
 * Certificate applications, issuance and revocation requests. Entry and review are different
 * roles (and never one person: separation-of-duties.ts). Records naming a holder (applications,
 * certificates with their subject and holder key) are personal data, read by the business
 * operators only; the business admin follows revocation requests, which name no holder.
 */
export const enrollmentPermissions = {
  'application.enter': ['entry_clerk'],
  'application.review': ['reviewer'],
  'application.issue': ['certificate_maker'],
  'application.renew_download_code': ['certificate_maker'],
  'application.read': businessOperators,
  'certificate.read': businessOperators,
  'revocation.enter': ['entry_clerk'],
  'revocation.review': ['reviewer'],
  'revocation.retry': ['reviewer', 'certificate_maker'],
  'revocation.read': ['business_admin', ...businessOperators],
} as const satisfies Record<string, readonly Role[]>;
