/**
 * Every manifest under deploy/kubernetes, validated offline: the Kubernetes objects against the
 * API's own schemas (compiled into the kubernetes-models package), CloudNativePG's against the
 * subset kept in deploy/kubernetes/schemas; then the layout deploy/README.md describes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const dir = new URL('../../deploy/kubernetes/', import.meta.url).pathname;
const require = createRequire(import.meta.url);

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: the shape depends on the kind; each check reads what it needs.
  spec?: any;
  file: string;
}

const manifests: Manifest[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(`${dir}${file}`, 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return { ...(doc.toJS() as Omit<Manifest, 'file'>), file };
    }),
  );

const cnpg = new Ajv({ allErrors: true, strict: true });
cnpg.addSchema(JSON.parse(readFileSync(`${dir}schemas/cloudnative-pg.schema.json`, 'utf8')), 'cnpg');

/** Throws what is wrong with the object, per the schema of its apiVersion and kind. */
function validate(manifest: Omit<Manifest, 'file'>): void {
  const { apiVersion, kind } = manifest;
  if (apiVersion.startsWith('postgresql.cnpg.io/')) {
    const check = cnpg.getSchema(`cnpg#/$defs/${kind}`);
    if (!check) throw new Error(`no schema for ${apiVersion} ${kind}`);
    if (!check(manifest)) throw new Error(cnpg.errorsText(check.errors));
    return;
  }
  const Model = require(`kubernetes-models/${apiVersion}/${kind}`)[kind] as new (
    data: unknown,
  ) => { validate(): void };
  new Model(manifest).validate();
}

const ofKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const component = (m: Manifest) => m.spec.template.metadata.labels['app.kubernetes.io/component'] as string;
const policy = (name: string) =>
  manifests.find((m) => m.kind === 'NetworkPolicy' && m.metadata.name === name)!;

describe('deploy/kubernetes', () => {
  it('holds only objects valid against their schemas', () => {
    expect(manifests.length).toBeGreaterThan(10);
    for (const { file, ...manifest } of manifests) {
      expect(() => validate(manifest), `${file}: ${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    }
  });

  it('refuses what the schemas refuse, so the check above is real', () => {
    const deployment = structuredClone(ofKind('Deployment')[0]!);
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(() => validate(deployment)).toThrow(/containerPort/);
    const cluster = structuredClone(ofKind('Cluster')[0]!);
    const { file: _file, ...misspelt } = { ...cluster, spec: { ...cluster.spec, instance: 3 } };
    expect(() => validate(misspelt)).toThrow(/additional properties/);
  });

  it('runs every service with replicas, probes, a disruption budget, non-root', () => {
    const deployments = ofKind('Deployment');
    expect(deployments.map(component).sort()).toEqual(['ca', 'crl', 'km', 'ocsp', 'ra']);
    for (const deployment of deployments) {
      const name = component(deployment);
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      expect(deployment.spec.replicas, name).toBeGreaterThanOrEqual(2);
      expect(container.args, name).toEqual([name]);
      expect(container.readinessProbe.httpGet.path, name).toBe('/health/ready');
      expect(container.livenessProbe.httpGet.path, name).toBe('/health/live');
      expect(pod.securityContext.runAsNonRoot, name).toBe(true);
      expect(container.securityContext.allowPrivilegeEscalation, name).toBe(false);
      const budget = ofKind('PodDisruptionBudget').find(
        (b) => b.spec.selector.matchLabels['app.kubernetes.io/component'] === name,
      );
      expect(budget?.spec.minAvailable, name).toBe(1);
    }
  });

  it('keeps the CA and KM off the public side', () => {
    const zone = (name: string) =>
      ofKind('Deployment').find((d) => component(d) === name)!.spec.template.metadata.labels[
        'sm2ca.gov.cn/zone'
      ];
    expect(['ca', 'km'].map(zone)).toEqual(['core', 'core']);
    expect(policy('default-deny-ingress').spec.podSelector).toEqual({});
    expect(policy('public-from-anywhere').spec.podSelector.matchLabels).toEqual({
      'sm2ca.gov.cn/zone': 'public',
    });
    const callers = (name: string) =>
      policy(name).spec.ingress.flatMap((rule: { from: { podSelector?: { matchLabels: object } }[] }) =>
        rule.from.map((peer) => peer.podSelector?.matchLabels),
      );
    expect(callers('ca-from-ra')).toEqual([{ 'app.kubernetes.io/component': 'ra' }]);
    expect(callers('km-from-ca-and-ra')).toEqual([
      { 'app.kubernetes.io/component': 'ca' },
      { 'app.kubernetes.io/component': 'ra' },
    ]);
  });

  it('runs PostgreSQL with synchronous replication that a commit waits for', () => {
    const [cluster] = ofKind('Cluster');
    expect(cluster!.spec.instances).toBeGreaterThanOrEqual(3);
    expect(cluster!.spec.postgresql.synchronous).toMatchObject({ number: 1, dataDurability: 'required' });
  });
});
