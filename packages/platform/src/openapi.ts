import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { RouteOptions } from 'fastify';
import { isPermissionRule } from './auth/permissions.ts';

/** What every 4xx and 5xx answer carries (errorResponse builds it). */
export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable and machine-readable: clients branch on it' }),
      message: Type.String({ description: 'for the person reading the response' }),
      details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    }),
  },
  {
    description: 'Refused or failed; `error.code` says why',
    examples: [
      {
        error: {
          code: 'ROLE_FORBIDDEN',
          message: 'a reviewer (审核员) may not do this; it needs: entry clerk (录入员)',
          details: { role: 'reviewer', allowed: ['entry_clerk'] },
        },
      },
    ],
  },
);

/** The schema with an example for the OpenAPI document; the type checker holds the example to the schema. */
export function withExample<T extends TSchema>(schema: T, example: NoInfer<Static<T>>): T {
  return { ...schema, examples: [example] };
}

/** A DER body: what relying parties fetch. */
export function derResponse(contentType: string, description: string) {
  return {
    description,
    content: { [contentType]: { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) } },
  };
}

export const notModifiedResponse = {
  description: 'unchanged since the ETag sent in If-None-Match',
  type: 'null',
};

export const bearerSecurityScheme = 'bearer';

export const openapiComponents = {
  securitySchemes: {
    [bearerSecurityScheme]: {
      type: 'http' as const,
      scheme: 'bearer',
      description:
        'an operator credential, printed once by `sm2ca operator add` (or `sm2ca init --super-admin`)',
    },
  },
};

/**
 * What a route's access rule and the shared error handler imply, written into its schema so
 * the OpenAPI document cannot drift from them: operator routes need the bearer credential, and
 * every route may answer the error body.
 */
export function documentAccessAndErrors(route: RouteOptions): void {
  const schema = route.schema ?? {};
  if (schema.hide || route.url.startsWith('/docs')) return;
  const response = (schema.response ?? {}) as Record<string, unknown>;
  route.schema = {
    ...schema,
    response: {
      ...response,
      '4xx': response['4xx'] ?? ErrorBodySchema,
      '5xx': response['5xx'] ?? ErrorBodySchema,
    },
    ...(isPermissionRule(route.config?.access) ? { security: [{ [bearerSecurityScheme]: [] }] } : {}),
  };
}
