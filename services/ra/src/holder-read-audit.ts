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
export async function auditHolderRead<T extends { holderKey: string | null }>(
  pool: Pool,
  request: FastifyRequest,
  records: T[],
  idOf: (record: T) => string = (record) => (record as unknown as { id: string }).id,
): Promise<T[]> {
  if (records.length === 0) return records;
  const holders = [...new Set(records.map((r) => r.holderKey ?? 'unknown'))];
  await withTransaction(pool, (client) =>
    recordAudit(client, actorOf(request), {
      action: 'holder.read',
      subjectType: 'holder',
      subjectId: holders.length === 1 ? holders[0]! : '*',
      after: {
        route: `${request.method} ${request.routeOptions.url}`,
        ids: records.map(idOf),
        ...(holders.length > 1 ? { holders } : {}),
      },
    }),
  );
  return records;
}
