import { type Pool, withTransaction } from '@sm2ca/store';
import type { FastifyRequest } from 'fastify';
import { type AuditEntry, recordAudit } from '../audit.ts';
import { errorResponse } from '../error-response.ts';
import type { HttpServer } from '../http-server.ts';
import type { Operator } from './operators.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The 4xx error this request was refused with, kept for the refusal audit. */
    refusal?: Error;
    /** Set once a record of the refusal is written, by a route's own refusal audit or by this one. */
    refusalAudited?: boolean;
  }
}

/**
 * Writes the record of a refused request in its own transaction (the refused change rolled back
 * with its own) and marks the request, so the refusal is on record once.
 */
export async function recordRefusal(
  pool: Pool,
  request: FastifyRequest,
  operator: Pick<Operator, 'name' | 'roles'>,
  entry: AuditEntry,
): Promise<void> {
  // A refused operator may have acted in none of their roles; the record names all of them.
  const actor = { name: operator.name, role: request.actingRole ?? (operator.roles.join('+') || 'none') };
  await withTransaction(pool, (client) => recordAudit(client, actor, entry));
  request.refusalAudited = true;
}

/**
 * Every refusal of an authenticated operator is on record: a request refused with a 4xx — by the
 * permission table, a separation-of-duties rule, a state check or its input — whose route did not
 * record the refusal itself gets a `request.refuse` record naming the route, the code and the
 * message, written before the answer leaves (its own transaction: the refused change rolled back).
 * Anonymous and forged-credential noise stays in the access log, so nobody outside can fill the
 * audit trail.
 */
export function registerRefusalAudit(app: HttpServer, pool: Pool): void {
  app.addHook('onError', async (request, _reply, error) => {
    const { status } = errorResponse(error);
    if (status >= 400 && status < 500) request.refusal = error;
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    const { refusal, operator } = request;
    if (!refusal || request.refusalAudited || !operator) return payload;
    const { body } = errorResponse(refusal);
    const permission = (request.routeOptions.config?.access as { permission?: string } | undefined)
      ?.permission;
    try {
      await recordRefusal(pool, request, operator, {
        action: 'request.refuse',
        subjectType: 'route',
        subjectId: `${request.method} ${request.routeOptions.url}`,
        after: {
          code: body.error.code,
          message: body.error.message,
          ...(permission ? { permission } : {}),
          ...(request.params && Object.keys(request.params).length ? { params: request.params } : {}),
        },
      });
    } catch (err) {
      request.log.error({ err, code: body.error.code }, 'the refusal could not be audited');
    }
    return payload;
  });
}
