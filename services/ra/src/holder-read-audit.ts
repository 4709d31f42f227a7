import { recordAudit } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import type { FastifyRequest } from 'fastify';
import { actorOf } from './ra-context.ts';

/**
 * Records that an operator read holders' personal data (identity, application or recovery
 * detail), before the answer goes out: data whose reading could not be recorded is not shown.
 * The subject is the holder when the answer concerns one, so "who read this person's data"
 * is one audit query.
 */
export async function auditHolderRead<T extends { id: string; holderKey: string }>(
  pool: Pool,
  request: FastifyRequest,
  records: T[],
): Promise<T[]> {
  if (records.length === 0) return records;
  const holders = [...new Set(records.map((r) => r.holderKey))];
  await withTransaction(pool, (client) =>
    recordAudit(client, actorOf(request), {
      action: 'holder.read',
      subjectType: 'holder',
      subjectId: holders.length === 1 ? holders[0]! : '*',
      after: {
        route: `${request.method} ${request.routeOptions.url}`,
        ids: records.map((r) => r.id),
        ...(holders.length > 1 ? { holders } : {}),
      },
    }),
  );
  return records;
}
