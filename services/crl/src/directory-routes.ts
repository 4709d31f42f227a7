import { Type } from '@sinclair/typebox';
import { allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { outboxStatus } from './directory-outbox.ts';

const DirectorySchema = withExample(
  Type.Object({
    enabled: Type.Boolean({ description: 'whether this replica is configured to publish to a directory' }),
    leader: Type.Boolean({ description: 'whether this replica is the one publishing' }),
    pending: Type.Integer({ description: 'outbox items not yet in the directory' }),
    failing: Type.Integer({ description: 'pending items tried at least once' }),
    oldestPending: Type.Optional(
      Type.Object({
        id: Type.String(),
        kind: Type.String(),
        enqueuedAt: Type.String({ format: 'date-time' }),
        ageSeconds: Type.Number(),
        attempts: Type.Integer(),
        lastError: Type.Optional(Type.String()),
      }),
    ),
    lastPublishedAt: Type.Optional(Type.String({ format: 'date-time' })),
  }),
  {
    enabled: true,
    leader: true,
    pending: 2,
    failing: 1,
    oldestPending: {
      id: '41',
      kind: 'certificate',
      enqueuedAt: '2026-12-03T08:30:00.000Z',
      ageSeconds: 12.5,
      attempts: 3,
      lastError: 'connect ECONNREFUSED 127.0.0.1:8389',
    },
    lastPublishedAt: '2026-12-03T08:29:58.000Z',
  },
);

export interface DirectoryRouteDeps {
  pool: Pool;
  publisher(): { enabled: boolean; leader: boolean };
}

/** The publication queue as monitoring and operators see it: how much waits, and since when. */
export function registerDirectoryRoutes(app: HttpServer, deps: DirectoryRouteDeps): void {
  app.get(
    '/v1/directory',
    {
      config: { access: allowedTo('directory.read') },
      schema: {
        description: 'The directory (LDAP) publication queue: depth, oldest pending item, last publication',
        response: { 200: DirectorySchema },
      },
    },
    async () => ({ ...deps.publisher(), ...(await outboxStatus(deps.pool)) }),
  );
}
