import { type Static, Type } from '@sinclair/typebox';
import { type TemplateBody, templateFindings, templateKindOf, templateOfProfile } from '@sm2ca/pki';
import { AppError, allowedTo, type HttpServer, recordAudit, withExample } from '@sm2ca/platform';
import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import { listTemplates, readTemplate, TemplateView } from './certificate-templates.ts';
import { encryptionTemplateOf } from './encryption-profiles.ts';
import { actorOf } from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';
import { TemplateBodySchema, templateName } from './template-body.ts';

const NameParams = Type.Object({ name: templateName() });
const VersionParams = Type.Object({
  name: templateName(),
  version: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
});
const RejectBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 1000 }) },
  { additionalProperties: false },
);

const bodyExample: Static<typeof TemplateBodySchema> = {
  ...templateOfProfile('person-sign', ['person'], { sameKeyRenewal: true, supersede: 'revoke' }),
  holderTypes: ['person'],
  description: 'Signature certificate of a person, two years',
  validityDays: 731,
};
const viewExample = {
  name: 'person-sign',
  version: 2,
  status: 'draft' as const,
  body: bodyExample,
  draftedBy: 'Zhao Min',
  draftedAt: '2026-12-03T01:02:03.000Z',
  decidedBy: null,
  decidedAt: null,
  retirementRequestedBy: null,
  retirementRequestedAt: null,
  retiredBy: null,
  retiredAt: null,
  findings: [],
};

/**
 * The renewal path reads one rule per kind (profile_lifecycle, migrations/0017): the rule of the
 * newest approved version, or none when no approved version makes the kind renewable.
 */
async function syncRenewalRule(client: PoolClient, name: string): Promise<void> {
  const { rows } = await client.query(
    `SELECT body->'renewal' AS renewal FROM certificate_templates
      WHERE name = $1 AND status = 'approved' ORDER BY version DESC LIMIT 1`,
    [name],
  );
  const renewal = rows[0]?.renewal as TemplateBody['renewal'] | null | undefined;
  if (!renewal) {
    await client.query('DELETE FROM profile_lifecycle WHERE profile = $1', [name]);
    return;
  }
  await client.query(
    `INSERT INTO profile_lifecycle (profile, same_key_renewal, supersede) VALUES ($1, $2, $3)
     ON CONFLICT (profile) DO UPDATE SET same_key_renewal = EXCLUDED.same_key_renewal, supersede = EXCLUDED.supersede`,
    [name, renewal.sameKeyRenewal, renewal.supersede],
  );
}

/**
 * The business administrators' templates: one drafts a version (or a version's retirement),
 * another approves it; the drafter may not. A draft is approved only when a sample certificate
 * built from it passes GM/T 0015 lint. Every change and every refusal is audited.
 */
export function registerTemplateRoutes(app: HttpServer, pool: Pool): void {
  const onError = auditRefusals(pool, 'certificate_template', (request) => {
    const { name, version } = (request.params ?? {}) as { name?: unknown; version?: unknown };
    return typeof name === 'string'
      ? `${name}${version === undefined ? '' : `/${String(version)}`}`
      : undefined;
  });

  app.get(
    '/v1/admin/templates',
    {
      config: { access: allowedTo('template.read') },
      onError,
      schema: {
        tags: ['templates'],
        summary: 'Every version of every certificate template',
        response: {
          200: withExample(Type.Object({ items: Type.Array(TemplateView) }), { items: [viewExample] }),
        },
      },
    },
    async () => ({ items: await listTemplates(pool) }),
  );

  app.get(
    '/v1/admin/templates/:name/versions/:version',
    {
      config: { access: allowedTo('template.read') },
      onError,
      schema: {
        tags: ['templates'],
        summary: 'One template version, with what would stop its approval',
        params: VersionParams,
        response: { 200: withExample(TemplateView, viewExample) },
      },
    },
    async (request) => (await readTemplate(pool, request.params.name, request.params.version)).view,
  );

  app.post(
    '/v1/admin/templates/:name/versions',
    {
      config: { access: allowedTo('template.draft') },
      onError,
      schema: {
        tags: ['templates'],
        summary: 'A business administrator drafts the next version of a template',
        params: NameParams,
        body: withExample(TemplateBodySchema, bodyExample),
        response: { 201: withExample(TemplateView, viewExample) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { name } = request.params;
      const view = await withTransaction(pool, async (client) => {
        // Two drafts at once would both take the same next number.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`certificate_template:${name}`]);
        const { rows: open } = await client.query(
          "SELECT version FROM certificate_templates WHERE name = $1 AND status = 'draft'",
          [name],
        );
        if (open[0]) {
          throw new AppError(
            'TEMPLATE_DRAFT_OPEN',
            `template ${name} already has draft version ${open[0].version}: approve or reject it first`,
            409,
            { name, version: open[0].version },
          );
        }
        await refuseKindChange(client, name, request.body);
        const { rows } = await client.query(
          `INSERT INTO certificate_templates (name, version, body, status, drafted_by)
           SELECT $1, COALESCE(MAX(version), 0) + 1, $2, 'draft', $3 FROM certificate_templates WHERE name = $1
           RETURNING version`,
          [name, JSON.stringify(request.body), actor.id],
        );
        const created = (await readTemplate(client, name, rows[0].version)).view;
        await recordAudit(client, actor, {
          action: 'template.draft',
          subjectType: 'certificate_template',
          subjectId: `${name}/${created.version}`,
          after: created,
        });
        return created;
      });
      return reply.status(201).send(view);
    },
  );

  app.post(
    '/v1/admin/templates/:name/versions/:version/approve',
    {
      config: { access: allowedTo('template.approve') },
      onError,
      schema: {
        tags: ['templates'],
        summary: "Another business administrator approves a draft (linted first) or a version's retirement",
        params: VersionParams,
        response: {
          200: withExample(TemplateView, { ...viewExample, status: 'approved' as const, findings: [] }),
        },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { name, version } = request.params;
      return withTransaction(pool, async (client) => {
        const current = await readTemplate(client, name, version, true);
        const subjectId = `${name}/${version}`;
        if (current.view.status === 'draft') {
          if (String(current.draftedBy) === actor.id) {
            throw new AppError(
              'TEMPLATE_OWN_DRAFT',
              'a template version is approved by someone other than its drafter',
              403,
              {
                name,
                version,
              },
            );
          }
          const findings = templateFindings(name, current.view.body);
          if (findings.length > 0) {
            throw new AppError(
              'TEMPLATE_LINT_FAILED',
              `a certificate under ${name} version ${version} would fail GM/T 0015 lint: ${findings.map((f) => f.code).join(', ')}`,
              422,
              { name, version, findings },
            );
          }
          const { encryptionTemplate } = current.view.body;
          if (encryptionTemplate !== undefined) {
            // The twin it names must be usable now: an approved template of the kind's twin kind.
            await encryptionTemplateOf(client, {
              name,
              version,
              kind: templateKindOf(name, current.view.body)!,
              body: current.view.body,
            });
          }
          await client.query(
            `UPDATE certificate_templates SET status = 'approved', decided_by = $3, decided_at = now()
              WHERE name = $1 AND version = $2`,
            [name, version, actor.id],
          );
        } else if (current.view.status === 'approved' && current.requestedBy !== null) {
          if (String(current.requestedBy) === actor.id) {
            throw new AppError(
              'TEMPLATE_OWN_RETIREMENT',
              'a retirement is approved by someone other than who asked for it',
              403,
              {
                name,
                version,
              },
            );
          }
          await client.query(
            `UPDATE certificate_templates SET status = 'retired', retired_by = $3, retired_at = now()
              WHERE name = $1 AND version = $2`,
            [name, version, actor.id],
          );
        } else {
          throw nothingPending(name, version, current.view.status);
        }
        await syncRenewalRule(client, name);
        const after = (await readTemplate(client, name, version)).view;
        await recordAudit(client, actor, {
          action: after.status === 'retired' ? 'template.retire' : 'template.approve',
          subjectType: 'certificate_template',
          subjectId,
          before: current.view,
          after,
        });
        return after;
      });
    },
  );

  app.post(
    '/v1/admin/templates/:name/versions/:version/reject',
    {
      config: { access: allowedTo('template.approve') },
      onError,
      schema: {
        tags: ['templates'],
        summary: "Rejects a draft, or withdraws a version's pending retirement",
        params: VersionParams,
        body: withExample(RejectBody, { reason: 'validity longer than the policy allows' }),
        response: { 200: withExample(TemplateView, { ...viewExample, status: 'rejected' as const }) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { name, version } = request.params;
      return withTransaction(pool, async (client) => {
        const current = await readTemplate(client, name, version, true);
        if (current.view.status === 'draft') {
          await client.query(
            `UPDATE certificate_templates SET status = 'rejected', decided_by = $3, decided_at = now()
              WHERE name = $1 AND version = $2`,
            [name, version, actor.id],
          );
        } else if (current.view.status === 'approved' && current.requestedBy !== null) {
          await client.query(
            `UPDATE certificate_templates SET retirement_requested_by = NULL, retirement_requested_at = NULL
              WHERE name = $1 AND version = $2`,
            [name, version],
          );
        } else {
          throw nothingPending(name, version, current.view.status);
        }
        const after = (await readTemplate(client, name, version)).view;
        await recordAudit(client, actor, {
          action: 'template.reject',
          subjectType: 'certificate_template',
          subjectId: `${name}/${version}`,
          before: current.view,
          after: { ...after, reason: request.body.reason },
        });
        return after;
      });
    },
  );

  app.post(
    '/v1/admin/templates/:name/versions/:version/retire',
    {
      config: { access: allowedTo('template.draft') },
      onError,
      schema: {
        tags: ['templates'],
        summary: 'Asks for an approved version to be retired; another administrator approves the retirement',
        params: VersionParams,
        response: { 200: withExample(TemplateView, { ...viewExample, status: 'approved' as const }) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { name, version } = request.params;
      return withTransaction(pool, async (client) => {
        const current = await readTemplate(client, name, version, true);
        if (current.view.status !== 'approved' || current.requestedBy !== null) {
          throw new AppError(
            'TEMPLATE_NOT_RETIRABLE',
            `template ${name} version ${version} is ${current.requestedBy === null ? current.view.status : 'already being retired'}: only an approved version is retired`,
            409,
            { name, version, status: current.view.status },
          );
        }
        await client.query(
          `UPDATE certificate_templates SET retirement_requested_by = $3, retirement_requested_at = now()
            WHERE name = $1 AND version = $2`,
          [name, version, actor.id],
        );
        const after = (await readTemplate(client, name, version)).view;
        await recordAudit(client, actor, {
          action: 'template.request_retirement',
          subjectType: 'certificate_template',
          subjectId: `${name}/${version}`,
          before: current.view,
          after,
        });
        return after;
      });
    },
  );
}

/**
 * A name keeps its kind from version to version: applications entered under one version are
 * issued under it, and renewals follow the newest, so a kind that changed would change what a
 * holder's renewed certificate is.
 */
async function refuseKindChange(client: PoolClient, name: string, body: TemplateBody): Promise<void> {
  const { rows } = await client.query(
    'SELECT version, body FROM certificate_templates WHERE name = $1 ORDER BY version DESC LIMIT 1',
    [name],
  );
  if (!rows[0]) return;
  const was = templateKindOf(name, rows[0].body as TemplateBody);
  const now = templateKindOf(name, body);
  if (was !== undefined && now !== was) {
    throw new AppError(
      'TEMPLATE_KIND_CHANGED',
      `template ${name} is of kind ${was} since version ${rows[0].version}: a template of another kind takes another name`,
      422,
      { name, kind: was, ...(now ? { drafted: now } : {}) },
    );
  }
}

function nothingPending(name: string, version: number, status: string): AppError {
  return new AppError(
    'TEMPLATE_NOTHING_PENDING',
    `template ${name} version ${version} is ${status} with nothing waiting for a decision`,
    409,
    { name, version, status },
  );
}
