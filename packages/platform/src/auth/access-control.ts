import type { Pool } from '@sm2ca/store';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../app-error.ts';
import type { HttpServer } from '../http-server.ts';
import { authenticate } from './authenticate.ts';
import type { Operator } from './operators.ts';
import { type Role, roleNames } from './roles.ts';

/** Who may call a route: everyone, or operators holding one of the roles. */
export type Access = 'public' | readonly Role[];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    operator?: Operator;
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

/**
 * Deny by default: a route that does not say who may call it answers 403 to
 * everybody. Operator authentication lives only here so that two-factor or
 * certificate login can replace it without touching the routes.
 */
export function registerAccessControl(app: HttpServer, pool: Pool, options: { now?: () => Date } = {}): void {
  const now = options.now ?? (() => new Date());
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config?.access;
    if (access === 'public') return;
    // Unmatched routes go on to the 404 handler rather than a misleading 403.
    if (!request.routeOptions.url) return;
    if (!access) {
      throw new AppError('ACCESS_NOT_DECLARED', 'this route declares no access rule, so it is closed', 403);
    }
    const credential = bearer(request);
    if (!credential) throw new AppError('AUTH_REQUIRED', 'an operator bearer credential is required', 401);
    const operator = await authenticate(pool, credential, now());
    if (!access.includes(operator.role)) {
      throw new AppError(
        'ROLE_FORBIDDEN',
        `a ${roleNames[operator.role]} may not do this; it needs: ${access.map((r) => roleNames[r]).join(' or ')}`,
        403,
        { role: operator.role, allowed: [...access] },
      );
    }
    request.operator = operator;
  });
}
