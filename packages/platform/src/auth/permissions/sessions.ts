import { roles } from '../roles.ts';

/** Whoever has a session may see whom it stands for (the console shows their menus) and end it. */
export const sessionPermissions = {
  'session.read': roles,
  'session.end': roles,
} as const;
