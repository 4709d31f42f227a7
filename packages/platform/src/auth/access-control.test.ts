import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../../test/support/test-database.ts';
import { AppError } from '../app-error.ts';
import { loadConfig } from '../config.ts';
import { createHttpServer, type HttpServer } from '../http-server.ts';
import { createLogger } from '../logger.ts';
import { operatorActor, registerAccessControl } from './access-control.ts';
import { addOperator } from './operators.ts';
import { allowedTo } from './permissions.ts';

describe('HTTP server with access control', () => {
  const db = useTestDatabase();
  let app: HttpServer;
  const credentials: Record<string, string> = {};
  const cli = { name: 'cli', role: 'key_ceremony' };

  beforeAll(async () => {
    for (const role of ['entry_clerk', 'reviewer'] as const) {
      credentials[role] = (
        await addOperator(db.pool, cli, { name: `op-${role}`, identity: `id-${role}`, roles: [role] })
      ).credential;
    }
    app = await createHttpServer({
      service: 'test',
      log: createLogger('test', { level: 'silent' }),
      timeouts: loadConfig({}).http,
      title: 'test',
    });
    registerAccessControl(app, db.pool);
    app.get('/open', { config: { access: 'public' } }, async () => ({ ok: true }));
    app.get('/undeclared', async () => ({ ok: true }));
    // What a route of a branch not yet converted to the permission table declares: closed too.
    app.get('/bare-list', { config: { access: ['reviewer'] as never } }, async () => ({ ok: true }));
    app.post(
      '/review',
      {
        config: { access: allowedTo('application.review') },
        schema: {
          body: Type.Object({ decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]) }),
        },
      },
      async (request) => ({ by: request.operator?.name, decision: request.body.decision }),
    );
    app.get('/issue', { config: { access: allowedTo('application.issue') } }, async (request) => ({
      actor: operatorActor(request),
    }));
    app.post('/decided', { config: { access: allowedTo('application.review') } }, async () => {
      throw new AppError('APPLICATION_ALREADY_REVIEWED', 'it was decided before', 409);
    });
    app.get('/conflict', { config: { access: 'public' } }, async () => {
      throw new AppError('ALREADY_DONE', 'it was done before', 409);
    });
    app.get('/crash', { config: { access: 'public' } }, async () => {
      throw new Error('secret internals');
    });
    await app.ready();
  });
  afterAll(() => app.close());

  const post = (url: string, body: unknown, role?: string) =>
    app.inject({
      method: 'POST',
      url,
      payload: body as object,
      headers: role ? { authorization: `Bearer ${credentials[role]}` } : {},
    });

  it('serves public routes without credentials', async () => {
    expect((await app.inject('/open')).json()).toEqual({ ok: true });
    expect((await app.inject('/health/live')).statusCode).toBe(200);
  });

  it('closes a route that declares no access rule', async () => {
    const res = await app.inject('/undeclared');
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('ACCESS_NOT_DECLARED');
    const bare = await app.inject({
      url: '/bare-list',
      headers: { authorization: `Bearer ${credentials.reviewer}` },
    });
    expect(bare.statusCode).toBe(403);
    expect(bare.json().error.code).toBe('ACCESS_NOT_DECLARED');
  });

  it('asks for a credential, and refuses an unknown one', async () => {
    expect((await post('/review', { decision: 'approve' })).json().error.code).toBe('AUTH_REQUIRED');
    const res = await app.inject({
      method: 'POST',
      url: '/review',
      payload: { decision: 'approve' },
      headers: { authorization: 'Bearer sm2op_forged' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('AUTH_INVALID');
  });

  it('refuses an operator outside the route roles with 403 ROLE_FORBIDDEN', async () => {
    const res = await post('/review', { decision: 'approve' }, 'entry_clerk');
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({
      code: 'ROLE_FORBIDDEN',
      details: { roles: ['entry_clerk'], permission: 'application.review', allowed: ['reviewer'] },
    });
  });

  it('lets the right role through and knows who it is', async () => {
    const res = await post('/review', { decision: 'approve' }, 'reviewer');
    expect(res.json()).toEqual({ by: 'op-reviewer', decision: 'approve' });
  });

  it('acts in the first of an operator’s roles the permission allows, as audit records name it', async () => {
    const { operator, credential } = await addOperator(db.pool, cli, {
      name: 'two hats',
      identity: 'id-two-hats',
      roles: ['entry_clerk', 'certificate_maker'],
    });
    const res = await app.inject({ url: '/issue', headers: { authorization: `Bearer ${credential}` } });
    expect(res.json()).toEqual({ actor: { id: operator.id, name: 'two hats', role: 'certificate_maker' } });
  });

  it('answers schema violations and bad JSON with 400 and a stable code', async () => {
    const bad = await post('/review', { decision: 'maybe' }, 'reviewer');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('REQUEST_INVALID');
    const garbage = await app.inject({
      method: 'POST',
      url: '/review',
      payload: '{"decision":',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${credentials.reviewer}` },
    });
    expect(garbage.statusCode).toBe(400);
    expect(garbage.json().error.code).toMatch(/^HTTP_/);
  });

  it('passes AppError codes through and hides unexpected errors', async () => {
    const conflict = await app.inject('/conflict');
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toEqual({ error: { code: 'ALREADY_DONE', message: 'it was done before' } });
    const crash = await app.inject('/crash');
    expect(crash.statusCode).toBe(500);
    expect(crash.json().error.code).toBe('INTERNAL');
    expect(crash.body).not.toContain('secret internals');
  });

  it('answers unknown routes with 404 NOT_FOUND and serves OpenAPI at /docs', async () => {
    expect((await app.inject('/nowhere')).json().error.code).toBe('NOT_FOUND');
    const docs = await app.inject('/docs/json');
    expect(docs.statusCode).toBe(200);
    expect(docs.json().paths['/review']).toBeDefined();
  });

  it('puts every refusal of an operator on record, and no anonymous one', async () => {
    const refusals = async () =>
      (
        await db.pool.query(
          "SELECT actor, actor_role, subject_id, after FROM audit_log WHERE action = 'request.refuse' ORDER BY id",
        )
      ).rows;
    const before = (await refusals()).length;
    expect((await post('/decided', {}, 'reviewer')).statusCode).toBe(409);
    expect((await post('/review', { decision: 'approve' }, 'entry_clerk')).statusCode).toBe(403);
    expect((await post('/review', { decision: 'approve' })).statusCode).toBe(401);
    const added = (await refusals()).slice(before);
    expect(added).toHaveLength(2);
    expect(added[0]).toMatchObject({
      actor: 'op-reviewer',
      actor_role: 'reviewer',
      subject_id: 'POST /decided',
    });
    expect(added[0].after).toMatchObject({
      code: 'APPLICATION_ALREADY_REVIEWED',
      permission: 'application.review',
    });
    expect(added[1]).toMatchObject({ actor: 'op-entry_clerk', actor_role: 'entry_clerk' });
    expect(added[1].after.code).toBe('ROLE_FORBIDDEN');
  });
});
