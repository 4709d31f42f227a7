import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Pool } from '@sm2ca/store';
import Fastify, {
  type FastifyInstance,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { AppError } from './app-error.ts';
import { CanonicalHeaderResponse } from './canonical-header-response.ts';
import type { Config } from './config-schema.ts';
import { isDateTime } from './date-time.ts';
import { errorResponse } from './error-response.ts';
import type { Logger } from './logger.ts';
import { registerMetrics } from './metrics/http-metrics.ts';
import { documentAccessAndErrors, openapiComponents } from './openapi.ts';
import { registerReadiness } from './readiness.ts';
import { unsafeInputAt } from './unsafe-input.ts';

export type HttpServer = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  Logger,
  TypeBoxTypeProvider
>;

export interface HttpServerOptions {
  log: Logger;
  /** The `http` settings: how long a client may take over its headers and its whole request. */
  timeouts: Config['http'];
  /** Title of the OpenAPI document served at /docs. */
  title: string;
  /** The `service` label of every metric at /metrics (ra, ca, km, ocsp, crl). */
  service: string;
  bodyLimit?: number;
  /**
   * The database GET /health/ready asks. Part of the app itself, so the tests and the route fuzz
   * see the route as it runs; a server without a database (some unit tests) has none.
   */
  readiness?: Pool;
}

/**
 * Fastify with what every service shares: TypeBox schemas, OpenAPI at /docs,
 * one error body shape `{ error: { code, message } }`, health routes, and Content-Length and
 * Content-Type spelled in canonical case.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const requestTimeout = options.timeouts.requestTimeoutSeconds * 1000;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(options.timeouts.headersTimeoutSeconds * 1000, requestTimeout);
  const app = Fastify({
    loggerInstance: options.log,
    requestTimeout,
    // Node looks for overdue requests only this often (30 s by default): half the shorter timeout
    // keeps a slow client from holding its connection much beyond it.
    http: {
      ServerResponse: CanonicalHeaderResponse,
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval: Math.ceil(headersTimeout / 2),
    },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false },
      // After ajv-formats, whose date-time lets through what PostgreSQL refuses (year 0, a space for T).
      onCreate: (ajv) => ajv.addFormat('date-time', isDateTime),
    },
    // Per-request lines would dominate the log of a busy responder; errors are logged by the handler below.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The API description is public; every other route must declare its own access rule.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, access: 'public' };
    documentAccessAndErrors(route);
  });
  await app.register(swagger, {
    openapi: { info: { title: options.title, version: '1' }, components: openapiComponents },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // After validation, which may itself coerce "1e400" to Infinity; for every route of every service.
  app.addHook('preHandler', (request, _reply, done) => {
    const parts = { path: request.params, query: request.query, body: request.body };
    for (const [part, value] of Object.entries(parts)) {
      const unsafe = unsafeInputAt(value);
      if (!unsafe) continue;
      const at = `${part}${unsafe.path}`;
      done(
        unsafe.problem === 'nul'
          ? new AppError('INVALID_CHARACTER', `${at}: the NUL character is not accepted`, 400)
          : new AppError('REQUEST_INVALID', `${at}: must be a finite number`, 400),
      );
      return;
    }
    done();
  });

  app.setErrorHandler((err, request, reply) => {
    const { status, body, expected } = errorResponse(err);
    if (expected) request.log.info({ code: body.error.code, url: request.url }, body.error.message);
    else request.log.error({ err, url: request.url }, 'request failed');
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } }),
  );
  app.get('/health/live', { schema: { hide: true }, config: { access: 'public' } }, async () => ({
    ok: true,
  }));
  if (options.readiness) registerReadiness(app, options.readiness);
  registerMetrics(app, options.service, options.readiness);
  return app;
}
