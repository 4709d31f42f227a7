import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';

export interface RegisteredRoute {
  method: string;
  url: string;
  /** The route's schemas, where it declares them: the shapes the fuzz bends. */
  schema: { body?: TSchema; querystring?: TSchema };
  /** Its access rule (`config.access`), so a caller can pick credentials that get past it. */
  access?: unknown;
}

const routesByApp = new WeakMap<object, RegisteredRoute[]>();

type FastifyModule = typeof import('fastify');

/**
 * The fastify module with a factory that records every route of every instance, as an onRoute
 * hook added before anything else can register one. For `vi.mock('fastify', …)`.
 */
export function recordingFastify(original: FastifyModule): Record<string, unknown> {
  const Fastify = original.default;
  const recording = ((options?: Parameters<typeof Fastify>[0]) => {
    const app = Fastify(options);
    const routes: RegisteredRoute[] = [];
    routesByApp.set(app, routes);
    app.addHook('onRoute', (route) => {
      const { body, querystring } = (route.schema ?? {}) as RegisteredRoute['schema'];
      const schema = { ...(body ? { body } : {}), ...(querystring ? { querystring } : {}) };
      const access = (route.config as { access?: unknown } | undefined)?.access;
      for (const method of [route.method].flat()) routes.push({ method, url: route.url, schema, access });
    });
    return app;
  }) as unknown as typeof Fastify;
  Object.assign(recording, Fastify);
  return { ...original, default: recording, fastify: recording };
}

export function routesOf(app: object): RegisteredRoute[] {
  const routes = routesByApp.get(app);
  if (!routes) throw new Error('this app was not built through the recording fastify mock');
  return routes;
}

export const routeKey = (route: Pick<RegisteredRoute, 'method' | 'url'>) => `${route.method} ${route.url}`;

/** Percent-encoded text for a URL: every byte, so invalid UTF-8 and NUL come through as sent. */
const encodeBytes = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => `%${b.toString(16).padStart(2, '0')}`).join('');

const hostileText = fc.oneof(
  fc.constantFrom(
    '%00',
    'a%00b',
    '0',
    '1',
    '-1',
    '2147483648',
    '9223372036854775808',
    '99999999999999999999999999',
    '1e400',
    '-0',
    '0x10',
    'NaN',
    'Infinity',
    'true',
    'null',
    '',
    '%20',
    '%E4%B8%AD%E6%96%87',
    '%F0%9F%92%A9',
    '%FF%FE',
    '%C0%AF',
    '%ED%A0%80',
    '%ZZ',
    '%',
    '..',
    '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
    '__proto__',
    'constructor',
    "'%3B%20DROP%20TABLE%20certificates%3B--",
    'sub',
    'root',
    'sub.crl',
    'sub-delta.crl',
    'root.cer',
    '1.crl',
    '999999999999999999.crl',
    'abcdef0123456789',
    'AB:CD:EF',
    'x'.repeat(300),
  ),
  fc.uint8Array({ maxLength: 24 }).map(encodeBytes),
  fc.string({ maxLength: 24 }).map(encodeURIComponent),
);

const queryKeys = fc.constantFrom(
  'limit',
  'offset',
  'status',
  'overdue',
  'holderKey',
  'serial',
  'issuerId',
  'format',
  '__proto__',
  'constructor[prototype]',
  'x%00',
);

const odd = fc.constantFrom<unknown>(
  null,
  0,
  -1,
  2 ** 31,
  2 ** 63,
  1e308,
  0.5,
  true,
  '',
  '\u0000',
  'a\u0000b',
  '2026-01-01Tgarbage',
  '中'.repeat(5000),
  [],
  {},
  [null],
  { __proto__: null, nested: { deeper: '\u0000' } },
);

type Path = Array<string | number>;

/** Every place in `value` a mutation can go: each property and array item, at any depth. */
function pathsOf(value: unknown, at: Path = []): Path[] {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = [...at, Array.isArray(value) ? Number(key) : key];
    return [path, ...pathsOf(child, path)];
  });
}

/** `base` with the value at `path` replaced; the rest shared. */
function replaced(base: unknown, path: Path, value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const node = (base ?? {}) as Record<string | number, unknown>;
  const copy = (Array.isArray(node) ? [...node] : { ...node }) as Record<string | number, unknown>;
  copy[head] = replaced(node[head], rest, value);
  return copy;
}

/** A value of the route's shape with one field at any depth (or the whole) replaced by something odd. */
function bent(base: unknown): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom<Path>([], ['unexpected'], ...pathsOf(base)), odd)
    .map(([path, value]) => JSON.stringify(replaced(base, path, value)));
}

/** What TypeBox can make of a schema; patterned strings have no default, so some schemas give nothing. */
function created(schema: TSchema): unknown {
  try {
    return Value.Create(schema);
  } catch {
    return {};
  }
}

const rawBodies = fc.oneof(
  fc.constantFrom(
    '',
    'null',
    '[]',
    '{}',
    '"x"',
    '{"a":',
    '1e400',
    '{"offset":1e400,"limit":-1e400}',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"a":"\\u0000"}',
    '{"a\\u0000":1}',
    '\u0000',
    '\ufeff{}',
    `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    JSON.stringify({ a: 'x'.repeat(200_000) }),
  ),
  fc.json({ maxDepth: 3 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
);

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/ocsp-request',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  '',
);

export interface FuzzCase {
  url: string;
  /** Absent: no body and no content type. */
  body?: { text: string; contentType: string };
  /** Index into the caller's request variants (credentials, signatures). */
  variant: number;
}

const holePattern = /:[A-Za-z0-9_]+|\*/g;

const declaredQueryKeys = (route: RegisteredRoute) =>
  Object.keys((route.schema.querystring?.properties as object | undefined) ?? {});

/** The route's URL with every `:param` and `*` filled with hostile text, and a hostile query. */
function fill(route: RegisteredRoute): fc.Arbitrary<string> {
  const holes = route.url.match(holePattern) ?? [];
  const keys = fc.oneof(queryKeys, fc.constantFrom('x', ...declaredQueryKeys(route)));
  const query = fc
    .array(fc.tuple(keys, hostileText), { maxLength: 4 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));
  return fc.tuple(...holes.map(() => hostileText), query).map((values) => {
    let i = 0;
    return route.url.replace(holePattern, () => values[i++] || 'x') + values[holes.length];
  });
}

/**
 * Hostile requests for one route: `variants` is how many request variants (credentials, signatures)
 * the caller has; `template` a valid body to bend, else what the route's body schema makes.
 */
export function fuzzCases(
  route: RegisteredRoute,
  options: { variants: number; numRuns: number; seed: number; template?: object },
): FuzzCase[] {
  const base = options.template ?? (route.schema.body ? created(route.schema.body) : undefined);
  const body = fc.option(
    fc.record({
      text: base === undefined ? rawBodies : fc.oneof({ arbitrary: bent(base), weight: 2 }, rawBodies),
      contentType: contentTypes,
    }),
    { freq: 4 },
  );
  const cases = fc.record({ url: fill(route), body, variant: fc.nat({ max: options.variants - 1 }) });
  return fc
    .sample(cases, { numRuns: options.numRuns, seed: options.seed })
    .map(({ url, body, variant }) => ({ url, variant, ...(body ? { body } : {}) }));
}

const sharpText = ['%00', 'a%00b', '9223372036854775808', '1e400', '-1', '%FF', '%E4%B8%AD', 'x'.repeat(300)];
const sharpValues: unknown[] = [
  '\u0000',
  'a\u0000b',
  2 ** 63,
  1e308,
  -1,
  null,
  [],
  {},
  true,
  '中'.repeat(5000),
];

/**
 * The systematic part: each path parameter, each query parameter the route declares and each
 * field of its body in turn gets each of a few values known to have broken servers, the rest
 * staying plausible. Sent with the caller's `variant` (its credentials that pass the access rule).
 */
export function targetedCases(
  route: RegisteredRoute,
  options: { variant: number; template?: object },
): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const holes = route.url.match(holePattern) ?? [];
  const urlWith = (hole: number, text: string) => {
    let i = 0;
    return route.url.replace(holePattern, () => (i++ === hole ? text : '1'));
  };
  const plainUrl = urlWith(-1, '');
  for (const [hole] of holes.entries()) {
    for (const text of sharpText) cases.push({ url: urlWith(hole, text), variant: options.variant });
  }
  for (const key of declaredQueryKeys(route)) {
    for (const text of sharpText) cases.push({ url: `${plainUrl}?${key}=${text}`, variant: options.variant });
  }
  const base = options.template ?? (route.schema.body ? created(route.schema.body) : undefined);
  for (const path of pathsOf(base)) {
    for (const value of sharpValues) {
      const text = JSON.stringify(replaced(base, path, value));
      cases.push({
        url: plainUrl,
        variant: options.variant,
        body: { text, contentType: 'application/json' },
      });
    }
  }
  return cases;
}

/** A request the server answered with 5xx, for the failure message. */
export interface ServerFailure {
  route: string;
  url: string;
  variant: number;
  contentType?: string;
  body?: string;
  status: number;
  answer: string;
}

export function failureOf(
  route: RegisteredRoute,
  fuzz: FuzzCase,
  res: LightMyRequestResponse,
): ServerFailure | undefined {
  if (res.statusCode < 500) return undefined;
  return {
    route: routeKey(route),
    url: fuzz.url,
    variant: fuzz.variant,
    ...(fuzz.body ? { contentType: fuzz.body.contentType, body: fuzz.body.text.slice(0, 200) } : {}),
    status: res.statusCode,
    answer: res.body.slice(0, 300),
  };
}
