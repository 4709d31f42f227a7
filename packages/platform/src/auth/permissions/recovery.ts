import type { Role } from '../roles.ts';
import { businessOperators } from './business-operators.ts';

/**
 * A holder's own key recovery runs through the business operators like an application. A
 * judicial recovery is asked by a judicial officer and decided by key administrators, who see
 * only those recoveries; the auditor follows them in the audit trail, not in business records.
 */
export const recoveryPermissions = {
  'key_recovery.enter': ['entry_clerk'],
  'key_recovery.review': ['reviewer'],
  'key_recovery.release': ['reviewer', 'certificate_maker'],
  'key_recovery.renew_download_code': ['certificate_maker'],
  'key_recovery.read': businessOperators,
  'judicial_recovery.request': ['judicial_officer'],
  'judicial_recovery.decide': ['key_administrator'],
  'judicial_recovery.release': ['key_administrator'],
  'judicial_recovery.download': ['judicial_officer'],
  'judicial_recovery.read': ['key_administrator', 'judicial_officer'],
} as const satisfies Record<string, readonly Role[]>;
