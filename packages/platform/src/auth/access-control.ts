import type { Pool } from '@sm2ca/store';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../app-error.ts';
import type { Actor } from '../audit.ts';
import type { HttpServer } from '../http-server.ts';
import { authenticate } from './authenticate.ts';
import type { AuthenticationCache } from './authentication-cache.ts';
import type { Operator } from './operators.ts';
import { actingRole, isPermissionRule, type PermissionRule } from './permissions.ts';
import { registerRefusalAudit } from './refusal-audit.ts';
import { type Role, roleNames } from './roles.ts';

/** Who may call a route: everyone, or operators holding a role the permission allows. */
export type Access = 'public' | PermissionRule;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    operator?: Operator;
    /** The operator's role this request acts in: the first of theirs the route's permission allows. */
    actingRole?: Role;
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

/** The authenticated operator and the role they act in, as audit records name them. */
export function operatorActor(request: FastifyRequest): Actor & { id: string } {
  const { operator, actingRole: role } = request;
  if (!operator || !role)
    throw new AppError('AUTH_REQUIRED', 'an operator bearer credential is required', 401);
  return { id: operator.id, name: operator.name, role };
}

/**
 * Deny by default: a route that does not say who may call it, or says it with anything but a
 * rule from allowedTo (a bare role list, say), answers 403 to everybody. Operator
 * authentication lives only here so that certificate login can replace it without touching
 * the routes.
 */
export function registerAccessControl(
  app: HttpServer,
  pool: Pool,
  options: {
    now?: () => Date;
    cache?: AuthenticationCache;
    /**
     * With a cache: the permissions whose requests change nothing authentication reads. Any
     * other request that may write (not GET or HEAD) clears the cache before it answers, so a
     * change made through this service is in force for the very next request, before the
     * database's notification arrives.
     */
    cacheSafe?: readonly string[];
  } = {},
): void {
  const now = options.now ?? (() => new Date());
  const { cache } = options;
  const cacheSafe = new Set(options.cacheSafe);
  registerRefusalAudit(app, pool);
  if (cache) {
    app.addHook('onSend', async (request, _reply, payload) => {
      const permission = (request.routeOptions.config?.access as { permission?: string } | undefined)
        ?.permission;
      const writes = request.method !== 'GET' && request.method !== 'HEAD';
      if (writes && !(permission && cacheSafe.has(permission))) cache.clear();
      return payload;
    });
  }
  app.addHook('onRequest', async (request) => {
    const access: unknown = request.routeOptions.config?.access;
    if (access === 'public') return;
    // Unmatched routes go on to the 404 handler rather than a misleading 403.
    if (!request.routeOptions.url) return;
    if (!isPermissionRule(access)) {
      throw new AppError(
        'ACCESS_NOT_DECLARED',
        'this route declares no access rule from the permission table, so it is closed',
        403,
      );
    }
    const credential = bearer(request);
    if (!credential) throw new AppError('AUTH_REQUIRED', 'an operator bearer credential is required', 401);
    const at = now();
    let operator = cache?.get(credential, at);
    if (!operator) {
      const generation = cache?.generation ?? 0;
      const authenticated = await authenticate(pool, credential, at);
      cache?.keep(credential, authenticated, at, generation);
      operator = authenticated.operator;
    }
    request.operator = operator;
    const role = actingRole(operator.roles, access.permission);
    if (!role) {
      const held = operator.roles.map((r) => roleNames[r]).join(', ') || 'no role';
      throw new AppError(
        'ROLE_FORBIDDEN',
        `${held} may not do ${access.permission}; it needs: ${access.roles.map((r) => roleNames[r]).join(' or ')}`,
        403,
        { roles: operator.roles, permission: access.permission, allowed: [...access.roles] },
      );
    }
    request.actingRole = role;
  });
}
