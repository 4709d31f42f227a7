import { rmSync } from 'node:fs';
import { revocationReasons } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase } from '../support/test-database.ts';

interface Media {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, unknown>;
}
interface Schema {
  type?: string;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
}
interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ in: string; name: string; example?: unknown; examples?: unknown }>;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
}
interface OpenApiDocument {
  components: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
  paths: Record<string, Record<string, Operation>>;
}

const raProfiles = [
  'person-sign',
  'person-encrypt',
  'operator-sign',
  'organization-sign',
  'organization-encrypt',
  'device-sign',
  'device-encrypt',
  'tls-server',
  'tls-device',
];

const hasExample = (media: Media | undefined) =>
  media?.example !== undefined || media?.examples !== undefined;

/**
 * The OpenAPI documents as each running service serves them at /docs/json: what client
 * writers read. Whether a route needs a credential is asked of the route itself.
 */
describe('OpenAPI documents', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  const documents: Record<string, OpenApiDocument> = {};

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    stack = await startStack(db.url);
    for (const [service, url] of Object.entries(stack.url)) {
      documents[service] = (await (await fetch(`${url}/docs/json`)).json()) as OpenApiDocument;
    }
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    if (stack?.env.SM2CA_HOME) rmSync(stack.env.SM2CA_HOME, { recursive: true, force: true });
    await drop?.();
  });

  const operations = () =>
    Object.entries(documents).flatMap(([service, document]) =>
      Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({
          service,
          path,
          method,
          operation,
          name: `${service} ${method.toUpperCase()} ${path}`,
        })),
      ),
    );

  /** The route called without a credential, its path parameters filled from the document's examples. */
  const callAnonymously = async (service: string, path: string, method: string, operation: Operation) => {
    let url = path;
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, String(parameter.example));
    }
    const json = operation.requestBody?.content['application/json'];
    const res = await fetch(`${stack.url[service as keyof Stack['url']]}${url}`, {
      method: method.toUpperCase(),
      ...(json
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(json.example) }
        : {}),
    });
    const body = await res.text();
    return res.status === 401 && JSON.parse(body).error.code === 'AUTH_REQUIRED';
  };

  it('declares the bearer scheme in every service', () => {
    expect(Object.keys(documents).sort()).toEqual(['ca', 'crl', 'km', 'monitor', 'ocsp', 'ra']);
    for (const document of Object.values(documents)) {
      expect(document.components.securitySchemes?.bearer).toEqual(
        expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      );
    }
  });

  it('requires the bearer credential on exactly the routes that refuse anonymous callers', async () => {
    const guarded: string[] = [];
    for (const { service, path, method, operation, name } of operations()) {
      const refused = await callAnonymously(service, path, method, operation);
      expect(operation.security, name).toEqual(refused ? [{ bearer: [] }] : undefined);
      if (refused) guarded.push(name);
    }
    expect(guarded).toContain('ra POST /v1/applications');
    expect(guarded).toContain('ra GET /v1/certificates');
  });

  it('declares the shared error body for 4xx and 5xx answers of every route', () => {
    for (const { operation, name } of operations()) {
      for (const range of ['4XX', '5XX']) {
        const schema = operation.responses[range]?.content?.['application/json']?.schema;
        expect(schema?.properties?.error?.required, `${name} ${range}`).toEqual(['code', 'message']);
        expect(schema?.properties?.error?.properties?.code?.type).toBe('string');
      }
    }
  });

  it('lists the allowed profiles and revocation reasons as enums', () => {
    const bodyProperty = (service: string, path: string, property: string) =>
      documents[service]!.paths[path]!.post!.requestBody!.content['application/json']!.schema!.properties![
        property
      ]!;
    expect(bodyProperty('ra', '/v1/applications', 'profile').enum).toEqual(raProfiles);
    expect(bodyProperty('ca', '/v1/instructions/issue', 'profile').enum).toEqual(raProfiles);
    expect(bodyProperty('ra', '/v1/revocations', 'reason').enum).toEqual([...revocationReasons]);
    expect(bodyProperty('ca', '/v1/instructions/revoke', 'reason').enum).toEqual([...revocationReasons]);
    for (const { operation, name } of operations()) {
      for (const media of Object.values(operation.requestBody?.content ?? {})) {
        for (const property of ['profile', 'holderType', 'decision', 'format']) {
          const schema = media.schema?.properties?.[property];
          if (schema) expect(schema.enum ?? [], `${name} ${property}`).not.toHaveLength(0);
        }
      }
    }
  });

  it('gives every request body an example, and every route one of its request or its answer', () => {
    for (const { operation, name } of operations()) {
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        expect(hasExample(media), `${name} ${type}`).toBe(true);
      }
      const examples = [
        ...Object.values(operation.requestBody?.content ?? {}).map(hasExample),
        ...Object.entries(operation.responses)
          .filter(([status]) => status.startsWith('2'))
          .flatMap(([, response]) => Object.values(response.content ?? {}).map(hasExample)),
        ...(operation.parameters ?? []).map((p) => p.example !== undefined || p.examples !== undefined),
      ];
      expect(examples.includes(true), name).toBe(true);
    }
  });
});
