import { roles } from '../roles.ts';

/** Whoever has a session may end it. */
export const sessionPermissions = {
  'session.end': roles,
} as const;
