import {
  type CertificateProfile,
  type DnAttribute,
  profileOfTemplate,
  subjectFindings,
  type TemplateBody,
  templateKindOf,
} from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';

/** An approved template version as the CA issues under it. */
export interface IssuingTemplate {
  /** Its kind's id with the template's contents: certificates are recorded under the kind. */
  profile: CertificateProfile;
  /** Refuses a subject value the template's patterns do not allow (its attributes are the tbs builder's to check). */
  checkSubject(subject: readonly DnAttribute[]): void;
}

/** The CA's one way to the profile a certificate is issued under. */
export type IssuingTemplates = (name: string, version: number | undefined) => Promise<IssuingTemplate>;

interface Cached {
  template: Promise<IssuingTemplate>;
  checkedAt: number;
}

/**
 * Approved template versions read from PostgreSQL, never from the RA's instruction. A version's
 * body never changes once approved, so it is read once per process; only its retirement can
 * still come, so the status is read again when the entry is older than `recheckMs`, which keeps
 * issuance free of a template round trip per certificate. An instruction naming no version
 * issues under version 1, the seeded built-in profile, as before templates were data.
 */
export function issuingTemplates(pool: Pool, recheckMs = 30_000): IssuingTemplates {
  const cache = new Map<string, Cached>();
  return (name, version = 1) => {
    const key = `${name}/${version}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && now - hit.checkedAt < recheckMs) return hit.template;
    const template = load(pool, name, version);
    cache.set(key, { template, checkedAt: now });
    // A refusal or an outage is not remembered: the next instruction asks again.
    template.catch(() => {
      if (cache.get(key)?.template === template) cache.delete(key);
    });
    return template;
  };
}

async function load(pool: Pool, name: string, version: number): Promise<IssuingTemplate> {
  const { rows } = await pool.query({
    name: 'ca-approved-template',
    text: 'SELECT status, body FROM certificate_templates WHERE name = $1 AND version = $2',
    values: [name, version],
  });
  const kind = rows[0] && templateKindOf(name, rows[0].body as TemplateBody);
  if (!kind || rows[0]?.status !== 'approved') {
    throw new AppError(
      'TEMPLATE_NOT_APPROVED',
      `certificate template ${name} version ${version} is ${rows[0]?.status ?? 'unknown'}: only an approved version issues`,
      422,
      { name, version },
    );
  }
  const body = rows[0].body as TemplateBody;
  return {
    profile: profileOfTemplate(kind, body),
    checkSubject(subject) {
      const findings = subjectFindings(body, subject).filter((f) => f.code === 'TEMPLATE_SUBJECT_PATTERN');
      if (findings.length > 0) {
        throw new AppError(
          'TEMPLATE_SUBJECT',
          `the subject does not fit template ${name} version ${version}: ${findings.map((f) => f.message).join('; ')}`,
          422,
          { name, version, findings },
        );
      }
    },
  };
}

/**
 * The template an instruction (or its encryption part) names, refused when its kind is not the
 * profile asked for: the RA vetted the holder, and the CA checks key purpose and twin, by kind.
 */
export async function templateOfKind(
  templates: IssuingTemplates,
  wanted: { profile: string; template?: string | undefined; templateVersion?: number | undefined },
): Promise<IssuingTemplate> {
  const name = wanted.template ?? wanted.profile;
  const template = await templates(name, wanted.templateVersion);
  if (template.profile.id !== wanted.profile) {
    throw new AppError(
      'TEMPLATE_KIND_MISMATCH',
      `template ${name} issues ${template.profile.id} certificates, not ${wanted.profile}`,
      422,
      { name, kind: template.profile.id, profile: wanted.profile },
    );
  }
  return template;
}
