import { Type } from '@sinclair/typebox';
import {
  type DnAttribute,
  type LintFinding,
  type ProfileId,
  subjectFindings,
  type TemplateBody,
  templateFindings,
  templateKindOf,
} from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { Pool, PoolClient } from '@sm2ca/store';
import { iso, literals, Nullable, Time } from './ra-context.ts';
import { TemplateBodySchema } from './template-body.ts';

export const templateStatuses = ['draft', 'approved', 'rejected', 'retired'] as const;

export const TemplateView = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  status: literals(templateStatuses),
  body: Type.Unsafe<TemplateBody>(TemplateBodySchema),
  draftedBy: Nullable(Type.String({ description: 'null: seeded from the built-in profile' })),
  draftedAt: Time,
  decidedBy: Nullable(Type.String()),
  decidedAt: Nullable(Time),
  retirementRequestedBy: Nullable(Type.String()),
  retirementRequestedAt: Nullable(Time),
  retiredBy: Nullable(Type.String()),
  retiredAt: Nullable(Time),
  findings: Type.Array(
    Type.Object({ code: Type.String(), severity: Type.String(), message: Type.String() }),
    {
      description:
        'why this version may not be approved (GM/T 0015 lint of a sample certificate); empty: it may',
    },
  ),
});

const SELECT = `SELECT t.*, d.name AS drafted_name, c.name AS decided_name, q.name AS requested_name, r.name AS retired_name
                  FROM certificate_templates t
                  LEFT JOIN operators d ON d.id = t.drafted_by
                  LEFT JOIN operators c ON c.id = t.decided_by
                  LEFT JOIN operators q ON q.id = t.retirement_requested_by
                  LEFT JOIN operators r ON r.id = t.retired_by`;

function viewOf(row: Record<string, unknown>) {
  const body = row.body as TemplateBody;
  return {
    name: row.name as string,
    version: row.version as number,
    status: row.status as (typeof templateStatuses)[number],
    body,
    draftedBy: (row.drafted_name as string | null) ?? null,
    draftedAt: iso(row.drafted_at)!,
    decidedBy: (row.decided_name as string | null) ?? null,
    decidedAt: iso(row.decided_at),
    retirementRequestedBy: (row.requested_name as string | null) ?? null,
    retirementRequestedAt: iso(row.retirement_requested_at),
    retiredBy: (row.retired_name as string | null) ?? null,
    retiredAt: iso(row.retired_at),
    findings: row.status === 'draft' ? templateFindings(row.name as string, body) : ([] as LintFinding[]),
  };
}

export async function listTemplates(pool: Pool) {
  const { rows } = await pool.query(`${SELECT} ORDER BY t.name, t.version`);
  return rows.map(viewOf);
}

/** One version with the ids the transitions check; `lock` holds it for the deciding transaction. */
export async function readTemplate(db: Pool | PoolClient, name: string, version: number, lock = false) {
  const { rows } = await db.query(
    `${SELECT} WHERE t.name = $1 AND t.version = $2${lock ? ' FOR UPDATE OF t' : ''}`,
    [name, version],
  );
  if (!rows[0]) {
    throw new AppError('TEMPLATE_NOT_FOUND', `no certificate template ${name} version ${version}`, 404, {
      name,
      version,
    });
  }
  return {
    view: viewOf(rows[0]),
    draftedBy: rows[0].drafted_by,
    requestedBy: rows[0].retirement_requested_by,
  };
}

export interface ApprovedTemplate {
  name: string;
  /** What its certificates are, from its body (lint refused an approval without one). */
  kind: ProfileId;
  version: number;
  body: TemplateBody;
}

/**
 * The version a new application is entered under: the one asked for, which must be approved and
 * not retired, or else the newest such version of the template.
 */
export async function templateForApplication(
  db: Pool | PoolClient,
  name: string,
  version?: number,
): Promise<ApprovedTemplate> {
  const { rows } = await db.query(
    `SELECT version, body FROM certificate_templates
      WHERE name = $1 AND status = 'approved' AND ($2::int IS NULL OR version = $2)
      ORDER BY version DESC LIMIT 1`,
    [name, version ?? null],
  );
  if (!rows[0]) {
    const known = await db.query('SELECT 1 FROM certificate_templates WHERE name = $1 LIMIT 1', [name]);
    if (known.rowCount === 0) {
      throw new AppError('TEMPLATE_UNKNOWN', `there is no certificate template ${name}`, 422, { name });
    }
    throw new AppError(
      'TEMPLATE_NOT_APPROVED',
      version === undefined
        ? `certificate template ${name} has no approved version in use`
        : `certificate template ${name} version ${version} is not approved or is retired`,
      422,
      { name, ...(version === undefined ? {} : { version }) },
    );
  }
  const body = rows[0].body as TemplateBody;
  return { name, kind: templateKindOf(name, body)!, version: rows[0].version, body };
}

/** Refuses a template whose kind is not the application's profile: the holder was vetted for that kind. */
export function refuseOtherKind(template: ApprovedTemplate, profile: string): void {
  if (template.kind !== profile) {
    throw new AppError(
      'TEMPLATE_KIND_MISMATCH',
      `template ${template.name} issues ${template.kind} certificates, not ${profile}`,
      422,
      { name: template.name, kind: template.kind, profile },
    );
  }
}

/** Refuses at entry what the template would refuse at issuance: the holder type, the subject's attributes and patterns. */
export function refuseOutsideTemplate(
  template: ApprovedTemplate,
  holderType: string,
  subject: readonly DnAttribute[],
): void {
  const at = { name: template.name, version: template.version };
  if (!template.body.holderTypes.includes(holderType)) {
    throw new AppError(
      'TEMPLATE_HOLDER_TYPE',
      `template ${template.name} version ${template.version} is for ${template.body.holderTypes.join(', ')} holders`,
      422,
      { ...at, holderType },
    );
  }
  const findings = subjectFindings(template.body, subject);
  if (findings.length > 0) {
    throw new AppError(
      'TEMPLATE_SUBJECT',
      `the subject does not fit template ${template.name} version ${template.version}: ${findings.map((f) => f.message).join('; ')}`,
      422,
      { ...at, findings },
    );
  }
}
