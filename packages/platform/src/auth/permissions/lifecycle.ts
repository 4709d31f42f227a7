import type { Role } from '../roles.ts';

/**
 * Renewal, re-key, freeze and unfreeze are entered by the entry clerk like an application or a
 * revocation; their review, issuance and retries use the application and revocation actions.
 */
export const lifecyclePermissions = {
  'renewal.enter': ['entry_clerk'],
  'rekey.enter': ['entry_clerk'],
  'freeze.enter': ['entry_clerk'],
  'unfreeze.enter': ['entry_clerk'],
} as const satisfies Record<string, readonly Role[]>;
