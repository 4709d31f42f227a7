import { randomUUID } from 'node:crypto';
import { signCaRequest } from '@sm2ca/pki';
import {
  addOperator,
  createLogger,
  type HttpServer,
  isPermissionRule,
  loadConfig,
  roles,
} from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCrlApp } from '../../services/crl/src/app.ts';
import { buildKmApp } from '../../services/km/src/app.ts';
import { ensureKmMasterKey } from '../../services/km/src/master-key.ts';
import { createOcspTestBed, type OcspTestBed } from '../../services/ocsp/src/test-support/ocsp-test-bed.ts';
import { issuingCaId, useRaTestBed } from '../../services/ra/src/test-support/ra-test-bed.ts';
import {
  type FuzzCase,
  failureOf,
  fuzzCases,
  type RegisteredRoute,
  routeKey,
  routesOf,
  type ServerFailure,
  targetedCases,
} from '../support/route-fuzz.ts';

vi.mock('fastify', async (importOriginal) => {
  const { recordingFastify } = await import('../support/route-fuzz.ts');
  return recordingFastify(await importOriginal());
});

const RANDOM_CASES_PER_ROUTE = 30;
const SEED = 20_260_109;

/** How one request variant is sent: its headers, and the body as it finally goes out. */
type Variant = (body: Buffer | undefined) => Promise<{ headers: Record<string, string>; body?: Buffer }>;

const plain =
  (headers: Record<string, string>): Variant =>
  async (body) => ({ headers, ...(body ? { body } : {}) });

/**
 * Sends hostile requests to every route `app` registered and returns what answered 5xx: random
 * ones with any variant, and targeted ones with the variant `trusted` picks for the route (the one
 * that gets past its access rule). The route list comes from the app's own onRoute hooks, so a new
 * route is fuzzed without a word here; every route must have had its cases.
 */
async function fuzzService(
  app: HttpServer,
  variants: Variant[],
  options: { trusted?: (route: RegisteredRoute) => number; templates?: Record<string, object> } = {},
): Promise<ServerFailure[]> {
  const routes = routesOf(app);
  expect(routes.length).toBeGreaterThan(0);
  const failures: ServerFailure[] = [];
  const covered = new Map<string, number>();
  for (const [index, route] of routes.entries()) {
    const template = options.templates?.[routeKey(route)];
    const cases = [
      ...fuzzCases(route, {
        variants: variants.length,
        numRuns: RANDOM_CASES_PER_ROUTE,
        seed: SEED + index,
        ...(template ? { template } : {}),
      }),
      ...targetedCases(route, { variant: options.trusted?.(route) ?? 0, ...(template ? { template } : {}) }),
    ];
    for (const fuzz of cases) {
      const failure = await send(app, route, fuzz, variants[fuzz.variant]!);
      if (failure) failures.push(failure);
    }
    covered.set(routeKey(route), cases.length);
  }
  const lines = [...covered].map(([route, n]) => `  ${route}: ${n} cases`);
  console.info(`route fuzz covered ${covered.size} routes:\n${lines.join('\n')}`);
  for (const [route, n] of covered) expect(n, route).toBeGreaterThan(0);
  return failures;
}

async function send(app: HttpServer, route: RegisteredRoute, fuzz: FuzzCase, variant: Variant) {
  const sent = await variant(fuzz.body ? Buffer.from(fuzz.body.text, 'utf8') : undefined);
  const headers = {
    ...sent.headers,
    ...(fuzz.body?.contentType ? { 'content-type': fuzz.body.contentType } : {}),
  };
  const body = sent.body;
  const res = await app.inject({
    method: route.method as 'GET',
    url: fuzz.url,
    headers,
    ...(body ? { payload: body } : {}),
  });
  return failureOf(route, fuzz, res);
}

describe('route fuzz: no route of any service answers 5xx to hostile input', () => {
  const ra = useRaTestBed();
  let bed: OcspTestBed;
  let ocsp: HttpServer;
  let crl: HttpServer;
  let km: HttpServer;

  beforeAll(async () => {
    bed = await createOcspTestBed();
    ocsp = await bed.responder();
    crl = await buildCrlApp(
      {
        config: loadConfig({ SM2CA_HOME: bed.ca.config.home }),
        log: createLogger('crl', { level: 'silent' }),
        db: { pool: bed.ca.db.pool, url: bed.ca.db.url, close: async () => {} },
        device: bed.ca.device,
      },
      { leaderRetryMs: 200 },
    );
    await crl.ready();
    await ensureKmMasterKey(bed.ca.db.pool, bed.ca.device, { name: 'cli', role: 'key_ceremony' });
    km = await buildKmApp(
      {
        config: bed.ca.config,
        log: createLogger('km', { level: 'silent' }),
        db: { pool: bed.ca.db.pool, url: bed.ca.db.url, close: async () => {} },
        device: bed.ca.device,
      },
      { background: false },
    );
    await km.ready();
  });
  afterAll(async () => {
    await km?.close();
    await crl?.close();
    await bed?.close();
  });

  it('RA: every route, as nobody, with bad credentials and as each operator role', async () => {
    const cli = { name: 'cli', role: 'key_ceremony' };
    const operators = await Promise.all(
      roles.map((role) =>
        addOperator(ra.pool, cli, { name: `fuzz-${role}`, identity: `fuzz-${role}`, roles: [role] }),
      ),
    );
    const strangers = [
      plain({}),
      plain({ authorization: 'Bearer not-a-credential' }),
      plain({ authorization: 'Basic Zm9vOmJhcg==' }),
      plain({ authorization: `Bearer ${'x'.repeat(5000)}` }),
    ];
    const variants = [
      ...strangers,
      ...operators.map(({ credential }) => plain({ authorization: `Bearer ${credential}` })),
    ];
    const trusted = (route: RegisteredRoute) => {
      const allowed: readonly string[] = isPermissionRule(route.access) ? route.access.roles : [];
      const role = roles.findIndex((r) => allowed.includes(r));
      return role < 0 ? 0 : strangers.length + role;
    };
    const holder = {
      commonName: '张三',
      email: 'zhang.san@example.cn',
      identity: { residentId: '11010519491231002X' },
    };
    const failures = await fuzzService(ra.app, variants, {
      trusted,
      templates: {
        'POST /v1/applications': {
          holderType: 'person',
          profile: 'person-sign',
          holder,
          csr: ra.hierarchy.sm2Csr(),
          publishConsent: true,
        },
        'POST /v1/revocations': {
          issuerId: issuingCaId,
          serial: 'abcdef',
          reason: 'keyCompromise',
          requestedBy: 'the holder',
        },
        'POST /v1/download': { reference: '123456789012', code: 'ABCD-EFGH', format: 'pem' },
        'POST /v1/freezes': { issuerId: issuingCaId, serial: 'abcdef', requestedBy: 'the holder' },
        'POST /v1/unfreezes': { issuerId: issuingCaId, serial: 'abcdef', requestedBy: 'the holder' },
        'POST /v1/renewals': { issuerId: issuingCaId, serial: 'abcdef', csr: ra.hierarchy.sm2Csr() },
        'POST /v1/rekeys': { issuerId: issuingCaId, serial: 'abcdef', csr: ra.hierarchy.sm2Csr(), holder },
        'POST /v1/holder/certificates': { reference: '123456789012', code: 'ABCD-EFGH' },
        'POST /v1/key-recoveries': {
          holderKey: 'resident-id:11010519491231002X',
          identityCheck: {
            requester: 'holder',
            document: { documentType: 'resident_id_card', documentNumber: '11010519491231002X' },
            method: 'seen in person',
          },
        },
        'POST /v1/key-recoveries/download': { reference: '123456789012', code: 'ABCD-EFGH' },
        'POST /v1/judicial-recoveries': {
          issuerId: issuingCaId,
          serial: 'abcdef',
          authorisation: {
            documentReference: '(2026)京0105刑初1234号',
            court: '北京市朝阳区人民法院',
            officerName: '赵明',
            officerDocument: { documentType: 'resident_id_card', documentNumber: '110105198001010016' },
          },
          officerCertificate: { issuerId: issuingCaId, serial: 'abcdef' },
        },
      },
    });
    expect(failures).toEqual([]);
    // The RA has the most routes (operator admin among them): thousands of requests on a shared machine.
  }, 240_000);

  it('CA: every route, unsigned, badly signed and signed by the RA key', async () => {
    const sign = async (body: Buffer) => Buffer.from(await bed.ca.raSigner.sign(body)).toString('base64');
    const enveloped = (body: Buffer): Buffer => {
      try {
        const parsed: unknown = JSON.parse(body.toString('utf8'));
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return body;
        const envelope = { requestId: randomUUID(), timestamp: new Date().toISOString() };
        return Buffer.from(JSON.stringify({ ...parsed, ...envelope }));
      } catch {
        return body;
      }
    };
    const variants: Variant[] = [
      plain({}),
      plain({ 'x-sm2ca-signature': 'not base64!' }),
      plain({ 'x-sm2ca-signature': Buffer.alloc(72, 1).toString('base64') }),
      async (body) => ({
        headers: { 'x-sm2ca-signature': await sign(body ?? Buffer.alloc(0)) },
        ...(body ? { body } : {}),
      }),
      async (body) => {
        const signed = enveloped(body ?? Buffer.from('{}'));
        return { headers: { 'x-sm2ca-signature': await sign(signed) }, body: signed };
      },
    ];
    const cert = await bed.ca.issue('赵六');
    const failures = await fuzzService(bed.ca.app, variants, {
      trusted: () => variants.length - 1,
      templates: {
        'POST /v1/instructions/issue': {
          operation: 'issue',
          profile: 'person-sign',
          csr: await bed.ca.holderCsr(),
          subject: [
            { type: 'C', value: 'CN' },
            { type: 'CN', value: '赵六' },
          ],
        },
        'POST /v1/instructions/release': {
          operation: 'release',
          issuerId: cert.issuerId,
          serial: cert.serial,
        },
        'POST /v1/instructions/revoke': {
          operation: 'revoke',
          issuerId: cert.issuerId,
          serial: cert.serial,
          reason: 'certificateHold',
          invalidityDate: new Date(Date.now() - 3_600_000).toISOString(),
        },
      },
    });
    expect(failures).toEqual([]);
  });

  it('OCSP: every route, with and without cache validators', async () => {
    const failures = await fuzzService(ocsp, [plain({}), plain({ 'if-none-match': '"garbage", W/"x", *' })]);
    expect(failures).toEqual([]);
  });

  it('CRL: every route, with and without cache validators and credentials', async () => {
    const failures = await fuzzService(crl, [
      plain({}),
      plain({ 'if-none-match': '"garbage", W/"x", *' }),
      plain({ authorization: 'Bearer not-a-credential' }),
    ]);
    expect(failures).toEqual([]);
  });

  it('KM: every route, as anyone, with the body as DER and as a request the CA signed around it', async () => {
    const signed = async (body: Buffer | undefined) => {
      const der = await signCaRequest(
        {
          caName: 'sub',
          requestTime: new Date(),
          taskNo: randomUUID(),
          requests: [
            { kind: 'revokeKey', userCertNo: (body ?? Buffer.alloc(1, 1)).subarray(0, 20).toString('hex') },
          ],
        },
        bed.ca.device.signer('ca-km'),
      ).catch(() => body ?? Buffer.alloc(0));
      return { headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(der) };
    };
    const failures = await fuzzService(km, [
      plain({}),
      async (body) => ({
        headers: { 'content-type': 'application/octet-stream' },
        ...(body ? { body } : {}),
      }),
      signed,
    ]);
    expect(failures).toEqual([]);
  });
});
