import { Type } from '@sinclair/typebox';
import { type TemplateBody, templateKindOf } from '@sm2ca/pki';
import { allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';

const UsableTemplate = Type.Object({
  name: Type.String(),
  kind: Type.String({
    description: "the profile an application names with this template; the template's kind",
  }),
  version: Type.Integer({
    description: 'its newest approved version, the one a new application is entered under',
  }),
  seeded: Type.Boolean({ description: 'named after its kind: used when an application names no template' }),
  holderTypes: Type.Array(Type.String()),
  validityDays: Type.Integer(),
});

/**
 * The templates an entry clerk may name in an application: the newest approved (not retired)
 * version of each, with its kind. The business admin's template pages show every version with its
 * drafters; a clerk needs only what to choose from. Template names and rules are no personal data,
 * so reading them leaves no holder.read record, as reading the enrollment profiles does not.
 */
export function registerEnrollmentTemplateRoute(app: HttpServer, pool: Pool): void {
  app.get(
    '/v1/enrollment/templates',
    {
      config: { access: allowedTo('application.enter') },
      schema: {
        tags: ['applications'],
        summary:
          'The approved certificate templates an application may name, seeded ones first within a kind',
        response: {
          200: withExample(Type.Object({ items: Type.Array(UsableTemplate) }), {
            items: [
              {
                name: 'person-sign',
                kind: 'person-sign',
                version: 1,
                seeded: true,
                holderTypes: ['person'],
                validityDays: 730,
              },
              {
                name: 'tax-bureau-staff',
                kind: 'person-sign',
                version: 2,
                seeded: false,
                holderTypes: ['person'],
                validityDays: 365,
              },
            ],
          }),
        },
      },
    },
    async () => {
      const { rows } = await pool.query(
        `SELECT DISTINCT ON (name) name, version, body FROM certificate_templates
          WHERE status = 'approved' ORDER BY name, version DESC`,
      );
      const items = rows.flatMap((row) => {
        const body = row.body as TemplateBody;
        const kind = templateKindOf(row.name as string, body);
        if (kind === undefined) return [];
        return [
          {
            name: row.name as string,
            kind,
            version: row.version as number,
            seeded: row.name === kind,
            holderTypes: body.holderTypes,
            validityDays: body.validityDays,
          },
        ];
      });
      items.sort(
        (a, b) =>
          a.kind.localeCompare(b.kind) || Number(b.seeded) - Number(a.seeded) || a.name.localeCompare(b.name),
      );
      return { items };
    },
  );
}
