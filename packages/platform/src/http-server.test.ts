import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { DateTime } from './date-time.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createLogger } from './logger.ts';
import { Paging } from './paging.ts';

describe('HTTP server input hygiene', () => {
  let app: HttpServer;
  const seen: unknown[] = [];

  beforeAll(async () => {
    app = await createHttpServer({
      service: 'test',
      log: createLogger('test', { level: 'silent' }),
      timeouts: loadConfig({}).http,
      title: 'test',
    });
    app.get(
      '/items/:id',
      { schema: { params: Type.Object({ id: Type.String() }), querystring: Type.Object(Paging) } },
      async (request) => {
        seen.push(request.params, request.query);
        return { ...request.params, ...request.query };
      },
    );
    app.post(
      '/events',
      {
        schema: {
          body: Type.Object({
            at: DateTime,
            note: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
          }),
        },
      },
      async (request) => {
        seen.push(request.body);
        return { at: request.body.at };
      },
    );
    await app.ready();
  });
  afterAll(() => app.close());

  const post = (body: unknown) => app.inject({ method: 'POST', url: '/events', payload: body as object });
  const code = (res: { json(): { error: { code: string } } }) => res.json().error.code;

  it('refuses a NUL character in a path parameter, the query or anywhere in a JSON body', async () => {
    const before = seen.length;
    for (const res of [
      await app.inject('/items/a%00b'),
      await app.inject('/items/a?limit=1&extra=x%00'),
      await post({ at: '2026-01-01T00:00:00Z', note: { deep: [['ok', 'b\u0000d']] } }),
      await post({ at: '2026-01-01T00:00:00Z', note: { 'k\u0000': 1 } }),
    ]) {
      expect(res.statusCode, res.body).toBe(400);
      expect(code(res)).toBe('INVALID_CHARACTER');
    }
    expect(seen.length).toBe(before);
    const nested = (await post({ at: '2026-01-01T00:00:00Z', note: { deep: [['ok', 'b\u0000d']] } })).json();
    expect(nested.error.message).toContain('body/note/deep/0/1');
  });

  it('takes text without NUL, however deeply nested', async () => {
    expect((await app.inject('/items/%E4%B8%AD?offset=3')).json()).toEqual({
      id: '中',
      limit: 100,
      offset: 3,
    });
    const deep = `${'['.repeat(50_000)}"leaf"${']'.repeat(50_000)}`;
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      headers: { 'content-type': 'application/json' },
      payload: `{"at":"2026-01-01T00:00:00Z","note":{"deep":${deep}}}`,
    });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('pages with a limit of 1–500 and an offset the database can hold, and takes no infinite number', async () => {
    expect((await app.inject(`/items/a?offset=${2 ** 31 - 1}&limit=500`)).statusCode).toBe(200);
    for (const query of [
      'offset=9223372036854775808',
      `offset=${2 ** 31}`,
      'offset=-1',
      'offset=1e400',
      'limit=0',
      'limit=501',
    ]) {
      const res = await app.inject(`/items/a?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(code(res)).toBe('REQUEST_INVALID');
    }
    const infinite = await app.inject({
      method: 'POST',
      url: '/events',
      headers: { 'content-type': 'application/json' },
      payload: '{"at":"2026-01-01T00:00:00Z","note":{"n":1e400}}',
    });
    expect(infinite.statusCode).toBe(400);
    expect(infinite.json().error.message).toContain('body/note/n');
  });

  it('validates date-time fields as strict RFC 3339', async () => {
    expect((await post({ at: '2024-02-29T12:00:00.5+08:00' })).statusCode).toBe(200);
    for (const at of [
      '2026-01-01Tgarbage',
      '2026-02-30T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '2026-01-01 00:00:00Z',
    ]) {
      const res = await post({ at });
      expect(res.statusCode, at).toBe(400);
      expect(code(res)).toBe('REQUEST_INVALID');
    }
  });
});

describe('HTTP server timeouts', () => {
  let app: HttpServer;
  let port = 0;

  beforeAll(async () => {
    app = await createHttpServer({
      service: 'test',
      log: createLogger('test', { level: 'silent' }),
      timeouts: loadConfig({
        SM2CA_HTTP_HEADERS_TIMEOUT_SECONDS: '1',
        SM2CA_HTTP_REQUEST_TIMEOUT_SECONDS: '1',
      }).http,
      title: 'test',
    });
    app.post('/echo', async (request) => request.body);
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  const sockets: Socket[] = [];
  afterAll(async () => {
    // Should the server not close them, the test fails on its timeout instead of hanging here.
    for (const socket of sockets) socket.destroy();
    await app.close();
  });

  /** Writes `text` and reads until the server closes the connection. */
  const sendAndWait = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(text));
      sockets.push(socket);
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => {
        answer += chunk;
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(answer));
    });

  it('answers 408 and closes a request whose announced body never comes, and keeps serving', async () => {
    const answer = await sendAndWait(
      'POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const res = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await res.json()).toEqual({ a: 1 });
  });

  it('closes a connection whose headers never end', async () => {
    const answer = await sendAndWait('GET /health/live HTTP/1.1\r\nHost: test\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
  });
});
