import {
  addOperator,
  allowedTo,
  createHttpServer,
  createLogger,
  type HttpServer,
  isPermissionRule,
  loadConfig,
  mayDo,
  type Role,
  registerAccessControl,
  roles,
} from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCrlApp } from '../../services/crl/src/app.ts';
import { buildKmApp } from '../../services/km/src/app.ts';
import { ensureKmMasterKey } from '../../services/km/src/master-key.ts';
import { createOcspTestBed, type OcspTestBed } from '../../services/ocsp/src/test-support/ocsp-test-bed.ts';
import { useRaTestBed } from '../../services/ra/src/test-support/ra-test-bed.ts';
import { type RegisteredRoute, routeKey, routesOf } from '../support/route-fuzz.ts';

vi.mock('fastify', async (importOriginal) => {
  const { recordingFastify } = await import('../support/route-fuzz.ts');
  return recordingFastify(await importOriginal());
});

/**
 * The routes anyone may call, each with why: everything else must name a permission of the
 * table. A new public route fails the matrix until it is added here, on purpose.
 */
const publicRoutes: Array<[RegExp, string]> = [
  [/^GET \/health\/(live|ready)$/, 'liveness and readiness probes'],
  [/^GET \/docs/, 'the OpenAPI document'],
  [/^POST \/v1\/download$/, 'holders, with their reference and one-time code'],
  [/^POST \/v1\/key-recoveries\/download$/, 'holders, with their reference and one-time code'],
  [/^POST \/v1\/instructions\/(issue|issue-batch|revoke)$/, 'the CA: only instructions the RA key signed'],
  [/^POST \/v1\/gmt0014$/, 'the KM: only requests the CA or RA key signed'],
  [/^(GET|POST) \/ocsp/, 'relying parties (RFC 6960)'],
  [/^GET \/(crl|ca)\//, 'relying parties fetch CRLs and CA certificates (RFC 5280)'],
  [
    /^GET \/v1\/revocations\/:issuerId\/:serial\/publication$/,
    'when a revocation reached the CRL: no personal data',
  ],
  [/^GET \/v1\/stats$/, 'CRL publication statistics'],
  [/^GET \/metrics$/, 'Prometheus scrapes: counts and latencies, no personal data'],
  [/^POST \/v1\/login(\/challenge)?$/, 'operators logging in: a certificate, its signature and a TOTP code'],
  [/^POST \/v1\/holder\/certificates$/, 'holders, with their reference and code'],
  [/^POST \/v1\/instructions\/(ca-action|release)$/, 'the CA: only instructions the RA key signed'],
  [
    /^GET \/console(\/\*)?$/,
    'the console page and its assets; everything it does is an authenticated API call',
  ],
];

const sample: Record<string, string> = {
  id: '999999',
  issuerId: 'matrix-issuer',
  serial: 'ab',
  file: 'x.crl',
};
const urlOf = (route: RegisteredRoute) =>
  route.url.replace(/:(\w+)/g, (_, name: string) => sample[name] ?? 'x').replace(/\*$/, 'x');

/** Codes that mean access control stopped the request. */
const accessCodes = new Set(['AUTH_REQUIRED', 'AUTH_INVALID', 'ROLE_FORBIDDEN', 'ACCESS_NOT_DECLARED']);

/** One operator per role in the service's database, by role. */
async function operatorsByRole(pool: Pool, prefix: string): Promise<Record<Role, string>> {
  const credentials = {} as Record<Role, string>;
  for (const role of roles) {
    const name = `${prefix}-${role}`;
    const added = await addOperator(
      pool,
      { name: 'cli', role: 'key_ceremony' },
      { name, identity: name, roles: [role] },
    );
    credentials[role] = added.credential;
  }
  return credentials;
}

/**
 * Drives every route of the app as nobody and as each role, and returns what disagrees with the
 * permission table: a route with no rule or a rule not from allowedTo (a bare role list), an
 * unexpected public route, a role let through that the table denies, or one refused it allows.
 */
async function matrixFailures(app: HttpServer, credentials: Record<Role, string>): Promise<string[]> {
  const failures: string[] = [];
  const routes = routesOf(app);
  expect(routes.length).toBeGreaterThan(0);
  for (const route of routes) {
    const key = routeKey(route);
    // http-server's own onRoute hook opens /docs after the recording one saw the route.
    const access = route.url.startsWith('/docs') ? 'public' : route.access;
    if (access === 'public') {
      // Fastify answers HEAD with its GET route.
      const asGet = key.replace(/^HEAD /, 'GET ');
      if (!publicRoutes.some(([pattern]) => pattern.test(asGet)))
        failures.push(`${key}: public without a reason in the matrix`);
      continue;
    }
    if (Array.isArray(access)) {
      failures.push(`${key}: a bare role list; declare allowedTo('family.verb') from permissions.ts`);
      continue;
    }
    if (!isPermissionRule(access)) {
      failures.push(`${key}: declares no access rule`);
      continue;
    }
    const send = (credential?: string) =>
      app.inject({
        method: route.method as 'GET',
        url: urlOf(route),
        headers: credential ? { authorization: `Bearer ${credential}` } : {},
        ...(route.method === 'POST' ? { payload: {} } : {}),
      });
    const anonymous = await send();
    if (anonymous.statusCode !== 401) failures.push(`${key}: answered ${anonymous.statusCode} to nobody`);
    for (const role of roles) {
      const res = await send(credentials[role]);
      // A HEAD answer has no body: its status alone tells the refusal.
      const code =
        route.method === 'HEAD'
          ? (({ 401: 'AUTH_INVALID', 403: 'ROLE_FORBIDDEN' } as Record<number, string>)[res.statusCode] ?? '')
          : (/"code":"([A-Z_]+)"/.exec(res.body)?.[1] ?? '');
      const allowed = mayDo(role, access.permission);
      if (!allowed && !(res.statusCode === 403 && code === 'ROLE_FORBIDDEN')) {
        failures.push(`${key} (${access.permission}): let ${role} through (${res.statusCode} ${code})`);
      }
      if (allowed && accessCodes.has(code)) {
        failures.push(`${key} (${access.permission}): refused ${role} (${res.statusCode} ${code})`);
      }
    }
  }
  return failures;
}

describe('role × action matrix over every route of every service', () => {
  const ra = useRaTestBed();
  let bed: OcspTestBed;
  const apps: Array<[string, HttpServer, Pool]> = [];

  beforeAll(async () => {
    bed = await createOcspTestBed();
    const context = {
      log: createLogger('matrix', { level: 'silent' }),
      db: { pool: bed.ca.db.pool, url: bed.ca.db.url, close: async () => {} },
      device: bed.ca.device,
    };
    const crl = await buildCrlApp(
      { ...context, config: loadConfig({ SM2CA_HOME: bed.ca.config.home }) },
      { leaderRetryMs: 200 },
    );
    await ensureKmMasterKey(bed.ca.db.pool, bed.ca.device, { name: 'cli', role: 'key_ceremony' });
    const km = await buildKmApp({ ...context, config: bed.ca.config }, { background: false });
    await Promise.all([crl.ready(), km.ready()]);
    apps.push(
      ['RA', ra.app, ra.pool],
      ['CA', bed.ca.app, bed.ca.db.pool],
      ['KM', km, bed.ca.db.pool],
      ['OCSP', await bed.responder(), bed.ca.db.pool],
      ['CRL', crl, bed.ca.db.pool],
    );
  }, 120_000);
  afterAll(async () => {
    for (const [name, app] of apps) if (name !== 'RA' && name !== 'CA') await app.close();
    await bed?.close();
  });

  it('every route declares a rule from the table and lets through exactly the roles the table allows', async () => {
    const credentials = new Map<Pool, Record<Role, string>>();
    const failures: string[] = [];
    for (const [name, app, pool] of apps) {
      if (!credentials.has(pool)) credentials.set(pool, await operatorsByRole(pool, `matrix-${name}`));
      failures.push(...(await matrixFailures(app, credentials.get(pool)!)).map((f) => `${name} ${f}`));
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('fails a route with no rule, a bare role list, or an unexplained public route', async () => {
    const app = await createHttpServer({
      service: 'matrix',
      log: createLogger('matrix', { level: 'silent' }),
      timeouts: loadConfig({}).http,
      title: 'matrix self-test',
    });
    registerAccessControl(app, ra.pool);
    app.get('/undeclared', async () => ({}));
    app.get('/bare', { config: { access: ['reviewer'] as never } }, async () => ({}));
    app.get('/open', { config: { access: 'public' } }, async () => ({}));
    app.get('/fine', { config: { access: allowedTo('application.read') } }, async () => ({}));
    await app.ready();
    const failures = await matrixFailures(app, await operatorsByRole(ra.pool, 'selftest'));
    await app.close();
    expect(failures).toEqual(
      expect.arrayContaining([
        'GET /undeclared: declares no access rule',
        "GET /bare: a bare role list; declare allowedTo('family.verb') from permissions.ts",
        'GET /open: public without a reason in the matrix',
      ]),
    );
    expect(failures.some((f) => f.startsWith('GET /fine'))).toBe(false);
  });
});
