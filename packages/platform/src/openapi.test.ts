import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from './app-error.ts';
import { allowedTo } from './auth/permissions.ts';
import { loadConfig } from './config.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createLogger } from './logger.ts';

describe('OpenAPI document of a service', () => {
  let app: HttpServer;

  beforeAll(async () => {
    app = await createHttpServer({
      service: 'test',
      log: createLogger('test', { level: 'silent' }),
      timeouts: loadConfig({}).http,
      title: 'test',
    });
    app.get('/operators-only', { config: { access: allowedTo('audit.read') } }, async () => {
      throw new AppError('ROLE_FORBIDDEN', 'not you', 403, { role: 'reviewer', allowed: ['auditor'] });
    });
    app.get('/public', { config: { access: 'public' } }, async () => ({ ok: true }));
    await app.ready();
  });
  afterAll(() => app.close());

  interface Operation {
    security?: unknown;
    responses: Record<
      string,
      { content: Record<string, { schema: { properties: { error: { required: string[] } } } }> }
    >;
  }
  const document = () =>
    app.swagger() as unknown as {
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, { get: Operation } | undefined>;
    };

  it('declares the bearer scheme and requires it exactly where operators are', () => {
    expect(document().components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document().paths['/operators-only']?.get.security).toEqual([{ bearer: [] }]);
    expect(document().paths['/public']?.get.security).toBeUndefined();
  });

  it('declares the shared error body for 4xx and 5xx on every route, and sends it whole', async () => {
    for (const path of ['/operators-only', '/public']) {
      const { responses } = document().paths[path]!.get;
      for (const range of ['4XX', '5XX']) {
        const schema = responses[range]!.content['application/json']!.schema;
        expect(schema.properties.error.required).toEqual(['code', 'message']);
      }
    }
    expect(document().paths['/health/live']).toBeUndefined();
    const res = await app.inject('/operators-only');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      error: {
        code: 'ROLE_FORBIDDEN',
        message: 'not you',
        details: { role: 'reviewer', allowed: ['auditor'] },
      },
    });
  });
});
