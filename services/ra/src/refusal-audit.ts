import { errorResponse, type Operator, operatorOfToken, recordRefusal } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The operator who asked: access control names them before it judges their role; a token it
 * refused outright (a person's bearer credential) is looked up here.
 */
async function askerOf(pool: Pool, request: FastifyRequest): Promise<Operator | undefined> {
  if (request.operator) return request.operator;
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1] ? operatorOfToken(pool, match[1], new Date()) : undefined;
}

/**
 * An onError hook for routes whose refusals name their subject (a key recovery, an operator, a CA
 * action): a request an operator made and was refused (4xx) is audited in its own transaction,
 * since the refused change rolled back with its own. Other refusals fall to access control's
 * generic `request.refuse` record.
 * Anonymous or forged-credential noise is left to the access log, so nobody can fill the audit
 * trail from outside; holders' refused downloads are audited where they are judged.
 */
export function auditRefusals(
  pool: Pool,
  subjectType: string,
  subjectOf: (request: FastifyRequest) => string | undefined = (request) => {
    const id = (request.params as { id?: unknown } | undefined)?.id;
    return typeof id === 'string' ? id : undefined;
  },
  /** Only refusals with these codes, where the route's other refusals are audited elsewhere or not at all. */
  codes?: ReadonlySet<string>,
) {
  return async (request: FastifyRequest, _reply: FastifyReply, error: Error): Promise<void> => {
    const { status, body } = errorResponse(error);
    if (status >= 500 || (codes && !codes.has(body.error.code))) return;
    const operator = await askerOf(pool, request);
    if (!operator) return;
    await recordRefusal(pool, request, operator, {
      action: `${subjectType}.refuse`,
      subjectType,
      subjectId: subjectOf(request) ?? 'none',
      after: {
        code: body.error.code,
        message: body.error.message,
        route: `${request.method} ${request.routeOptions.url}`,
      },
    });
  };
}
