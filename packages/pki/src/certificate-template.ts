import { SM2_CURVE } from '@sm2ca/gm';
import { parseCertificate } from './certificate.ts';
import { assembleCertificate } from './certificate-issuer.ts';
import type { KeyUsageName } from './extensions.ts';
import type { IdentityInfo } from './identity-extensions.ts';
import { keyPurposeOf } from './key-purpose.ts';
import { type LintFinding, lintTbs } from './linter.ts';
import type { DnAttribute, DnAttributeType } from './name.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';
import { type CertificateProfile, getProfile, PROFILES, type ProfileId } from './profiles.ts';
import { buildTbsCertificate, type TbsInput } from './tbs-builder.ts';

/**
 * One version of a certificate template as the business administrator drafts it. Its kind, one
 * of the end-entity profile kinds, fixes what the rest of the system derives from the kind (the
 * holder's key purpose, the encryption twin); everything a certificate of that kind carries is
 * the template's.
 */
export interface TemplateBody {
  /** The end-entity kind; absent: the template's name is its kind (the seeded templates). */
  kind?: ProfileId;
  description: string;
  /** The longest validity a certificate under this version gets (and its default). */
  validityDays: number;
  keyUsage: KeyUsageName[];
  /** Purpose OIDs; absent: no extendedKeyUsage extension. */
  extendedKeyUsage?: string[];
  extensions: { required: string[]; optional: string[] };
  subject: {
    required: DnAttributeType[];
    allowed: DnAttributeType[];
    /** A regular expression each value of the attribute must match in full. */
    patterns?: Partial<Record<DnAttributeType, string>>;
  };
  holderTypes: string[];
  identity: (keyof IdentityInfo)[];
  /** What a renewal keeps and what becomes of the renewed certificate; absent: not renewable. */
  renewal?: { sameKeyRenewal: boolean; supersede: 'revoke' | 'expire' };
  /**
   * A signature template's encryption twin in a dual enrollment: the template whose newest
   * approved version the KM-generated certificate is issued under; absent: the kind's twin.
   */
  encryptionTemplate?: string;
}

/** End-entity kinds a template can be drafted for: CA and OCSP certificates come only from the key ceremony. */
export const templateKinds: readonly ProfileId[] = [
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

export function isTemplateKind(name: string): name is ProfileId {
  return (templateKinds as readonly string[]).includes(name);
}

/** A template's kind: its body's, or its name when that is a kind; undefined: it has none. */
export function templateKindOf(name: string, body: Pick<TemplateBody, 'kind'>): ProfileId | undefined {
  const kind = body.kind ?? name;
  if (!isTemplateKind(kind)) return undefined;
  // A template named after a kind is of that kind, so a name never misleads about its kind.
  if (isProfileId(name) && name !== kind) return undefined;
  return kind;
}

function isProfileId(name: string): boolean {
  return Object.hasOwn(PROFILES, name);
}

/** The profile the tbs builder and linter check certificates against. */
export function profileOfTemplate(name: ProfileId, body: TemplateBody): CertificateProfile {
  return {
    id: name,
    description: body.description,
    ca: false,
    selfSigned: false,
    keyUsage: body.keyUsage,
    ...(body.extendedKeyUsage ? { extendedKeyUsage: body.extendedKeyUsage } : {}),
    maxValidityDays: body.validityDays,
    requiredExtensions: body.extensions.required,
    optionalExtensions: body.extensions.optional,
    subject: { required: body.subject.required, allowed: body.subject.allowed },
    identity: body.identity,
  };
}

/** The built-in profile as a template body: what migration 0023 seeds as version 1. */
export function templateOfProfile(
  name: ProfileId,
  holderTypes: string[],
  renewal?: TemplateBody['renewal'],
): TemplateBody {
  const p = PROFILES[name];
  return {
    description: p.description,
    validityDays: p.maxValidityDays,
    keyUsage: [...p.keyUsage],
    ...(p.extendedKeyUsage ? { extendedKeyUsage: [...p.extendedKeyUsage] } : {}),
    extensions: { required: [...p.requiredExtensions], optional: [...p.optionalExtensions] },
    subject: { required: [...p.subject.required], allowed: [...p.subject.allowed] },
    holderTypes,
    identity: [...p.identity],
    ...(renewal ? { renewal } : {}),
  };
}

/** Subject attributes outside a template's rules, each as a finding (empty: the subject fits). */
export function subjectFindings(body: TemplateBody, subject: readonly DnAttribute[]): LintFinding[] {
  const out: LintFinding[] = [];
  const types = new Set(subject.map((a) => a.type));
  for (const type of body.subject.required) {
    if (!types.has(type)) out.push(finding('TEMPLATE_SUBJECT_REQUIRED', `the subject needs ${type}`));
  }
  for (const { type, value } of subject) {
    if (!body.subject.allowed.includes(type)) {
      out.push(finding('TEMPLATE_SUBJECT_NOT_ALLOWED', `the subject may not carry ${type}`));
    }
    const pattern = body.subject.patterns?.[type];
    if (pattern !== undefined && !new RegExp(`^(?:${pattern})$`, 'u').test(value)) {
      out.push(finding('TEMPLATE_SUBJECT_PATTERN', `${type} "${value}" does not match ${pattern}`));
    }
  }
  return out;
}

/**
 * Why a template version may not be approved: rules of its own (key purpose of its kind,
 * subject rules that make sense, patterns that compile), then every GM/T 0015 lint error of a
 * sample certificate built from it. Empty: it may be approved.
 */
export function templateFindings(name: string, body: TemplateBody): LintFinding[] {
  const kind = templateKindOf(name, body);
  if (!kind) {
    return [
      finding(
        'TEMPLATE_KIND',
        isProfileId(name)
          ? `a template named ${name} is of kind ${name}, an end-entity certificate kind (${templateKinds.join(', ')})`
          : `template ${name} needs a kind, one of ${templateKinds.join(', ')}`,
      ),
    ];
  }
  const out: LintFinding[] = [];
  const profile = profileOfTemplate(kind, body);
  // Signature and encryption keys are kept apart by kind (key bindings, the KM's escrow).
  if (keyPurposeOf(kind) !== (body.keyUsage.includes('keyEncipherment') ? 'encryption' : 'signature')) {
    out.push(finding('TEMPLATE_KEY_PURPOSE', `a ${kind} certificate's key is for ${keyPurposeOf(kind)}`));
  }
  if (body.encryptionTemplate !== undefined && keyPurposeOf(kind) !== 'signature') {
    out.push(finding('TEMPLATE_TWIN', `a ${kind} certificate has no encryption twin`));
  }
  for (const type of body.subject.required) {
    if (!body.subject.allowed.includes(type)) {
      out.push(finding('TEMPLATE_SUBJECT_RULES', `required attribute ${type} is not among the allowed ones`));
    }
  }
  for (const [type, pattern] of Object.entries(body.subject.patterns ?? {})) {
    try {
      new RegExp(pattern, 'u');
    } catch {
      out.push(finding('TEMPLATE_PATTERN_INVALID', `the pattern for ${type} is not a regular expression`));
    }
  }
  if (body.extendedKeyUsage && !allowed(profile).has(OIDS.extendedKeyUsage)) {
    out.push(finding('TEMPLATE_EKU_NOT_ALLOWED', 'extendedKeyUsage is set but its extension is not allowed'));
  }
  try {
    const tbs = buildTbsCertificate(sampleInput(profile));
    out.push(...lintTbs(tbs, { profile, issuer: sampleIssuer() }).filter((f) => f.severity === 'error'));
  } catch (err) {
    if (!(err instanceof PkiError)) throw err;
    out.push(finding(err.code, err.message));
  }
  return out;
}

function finding(code: string, message: string): LintFinding {
  return { code, severity: 'error', message };
}

function allowed(profile: CertificateProfile): Set<string> {
  return new Set([...profile.requiredExtensions, ...profile.optionalExtensions]);
}

const DAY_MS = 86_400_000;
/** The generator point: a valid SM2 public key whose private key nobody needs for a sample. */
const SAMPLE_KEY = new Uint8Array(
  Buffer.from(
    `04${SM2_CURVE.gx.toString(16).padStart(64, '0')}${SM2_CURVE.gy.toString(16).padStart(64, '0')}`,
    'hex',
  ),
);
const SAMPLE_VALUES: Record<DnAttributeType, string> = {
  C: 'CN',
  ST: 'Beijing',
  L: 'Beijing',
  O: 'Sample Organisation',
  OU: 'Sample Unit',
  CN: 'sample.example.gov.cn',
  serialNumber: 'SAMPLE0001',
};

/** A certificate under the template with every extension it allows filled in, so lint sees them all. */
function sampleInput(profile: CertificateProfile): TbsInput {
  const has = allowed(profile);
  const notBefore = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);
  const identity: IdentityInfo = {};
  for (const field of profile.identity) {
    if (field === 'identifyCode')
      identity.identifyCode = { type: 'residentCard', value: '11010519491231002X' };
    else identity[field] = '91110000000000000X';
  }
  return {
    profile,
    subject: profile.subject.required.map((type) => ({ type, value: SAMPLE_VALUES[type] })),
    publicKey: SAMPLE_KEY,
    issuer: sampleIssuer(),
    notBefore,
    notAfter: new Date(notBefore.getTime() + profile.maxValidityDays * DAY_MS),
    ...(has.has(OIDS.cRLDistributionPoints)
      ? { crlDistributionPoints: ['http://crl.example.gov.cn/sub.crl'] }
      : {}),
    ...(has.has(OIDS.authorityInfoAccess)
      ? { ocspUrls: ['http://ocsp.example.gov.cn'], caIssuersUrls: ['http://ca.example.gov.cn/sub.cer'] }
      : {}),
    ...(has.has(OIDS.subjectAltName) ? { subjectAltName: { dns: ['sample.example.gov.cn'] } } : {}),
    ...(profile.identity.length > 0 ? { identity } : {}),
  };
}

let issuer: ReturnType<typeof parseCertificate> | undefined;

/** A sub-CA that outlives any sample, its signature a placeholder: lint reads the issuer's name and key identifier only. */
function sampleIssuer(): ReturnType<typeof parseCertificate> {
  if (issuer) return issuer;
  const notBefore = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS);
  const tbs = buildTbsCertificate({
    profile: getProfile('root-ca'),
    subject: [
      { type: 'C', value: 'CN' },
      { type: 'O', value: 'Sample CA' },
      { type: 'CN', value: 'Sample CA' },
    ],
    publicKey: SAMPLE_KEY,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 30 * 365 * DAY_MS),
  });
  issuer = parseCertificate(assembleCertificate(tbs, new Uint8Array(64)));
  return issuer;
}
