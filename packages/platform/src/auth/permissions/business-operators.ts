import type { Role } from '../roles.ts';

/** The RA workflow roles: only they read holders' personal data. */
export const businessOperators = ['entry_clerk', 'reviewer', 'certificate_maker'] as const satisfies Role[];
