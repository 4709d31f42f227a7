import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../../../test/support/raw-http.ts';
import { loadConfig } from './config.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createLogger } from './logger.ts';

describe('HTTP servers of the services', () => {
  let app: HttpServer;
  let base: string;

  beforeAll(async () => {
    app = await createHttpServer({
      service: 'test',
      log: createLogger('test', { level: 'silent' }),
      timeouts: loadConfig({}).http,
      title: 'test',
    });
    app.get('/bytes', { config: { access: 'public' } }, (_request, reply) =>
      reply.type('application/pkix-crl').send(Buffer.from('0123456789')),
    );
    // A route writing on the raw response, as streams and plugins do.
    app.get('/raw', { config: { access: 'public' } }, (_request, reply) => {
      reply.hijack();
      reply.raw.setHeader('content-type', 'text/plain');
      reply.raw.setHeader('content-length', '3');
      reply.raw.end('raw');
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => app?.close());

  it('spell Content-Length and Content-Type in canonical case, with the right values', async () => {
    for (const [path, type, length] of [
      ['/bytes', 'application/pkix-crl', 10],
      ['/raw', 'text/plain', 3],
      ['/nowhere', 'application/json; charset=utf-8', undefined],
    ] as const) {
      const res = await rawRequest(`${base}${path}`);
      expect(res.headerNames, path).toEqual(expect.arrayContaining(['Content-Length', 'Content-Type']));
      expect(
        res.headerNames.filter((name) => /^content-(length|type)$/i.test(name)),
        path,
      ).toHaveLength(2);
      expect(res.headers['content-type'], path).toBe(type);
      expect(res.headers['content-length'], path).toBe(String(length ?? res.body.length));
    }
  });
});
