import { describe, expect, it } from 'vitest';
import {
  profileOfTemplate,
  subjectFindings,
  type TemplateBody,
  templateFindings,
  templateKindOf,
  templateKinds,
  templateOfProfile,
} from './certificate-template.ts';
import { OIDS } from './oids.ts';

const personSign = (): TemplateBody => templateOfProfile('person-sign', ['person']);

describe('certificate templates', () => {
  it('passes every built-in end-entity profile as a template', () => {
    for (const kind of templateKinds) {
      expect(templateFindings(kind, templateOfProfile(kind, ['person'])), kind).toEqual([]);
    }
  });

  it('keeps the built-in profile when converted back', () => {
    const profile = profileOfTemplate('tls-server', templateOfProfile('tls-server', ['device']));
    expect(profile.maxValidityDays).toBe(398);
    expect(profile.extendedKeyUsage).toEqual([OIDS.kpServerAuth]);
  });

  it('refuses signature and encipherment usages together (GM/T 0015 lint of the sample)', () => {
    const body = { ...personSign(), keyUsage: ['digitalSignature', 'keyAgreement'] } as TemplateBody;
    expect(templateFindings('person-sign', body).map((f) => f.code)).toContain('KEY_USAGE_MIXED');
  });

  it('refuses a CA usage in an end-entity template', () => {
    const body = { ...personSign(), keyUsage: ['digitalSignature', 'keyCertSign'] } as TemplateBody;
    expect(templateFindings('person-sign', body).map((f) => f.code)).toContain('END_ENTITY_CA_USAGE');
  });

  it('refuses an encryption key usage on a signature kind', () => {
    const body = { ...personSign(), keyUsage: ['keyEncipherment'] } as TemplateBody;
    expect(templateFindings('person-sign', body).map((f) => f.code)).toContain('TEMPLATE_KEY_PURPOSE');
  });

  it('refuses a template missing a required GM extension', () => {
    const body = personSign();
    body.extensions.required = body.extensions.required.filter((oid) => oid !== OIDS.keyUsage);
    body.extensions.optional = body.extensions.optional.filter((oid) => oid !== OIDS.keyUsage);
    expect(templateFindings('person-sign', body).length).toBeGreaterThan(0);
  });

  it('refuses CA kinds, bad patterns and required attributes that are not allowed', () => {
    expect(templateFindings('sub-ca', personSign())[0]!.code).toBe('TEMPLATE_KIND');
    const body = personSign();
    body.subject = { required: ['C', 'CN', 'OU'], allowed: ['C', 'CN'], patterns: { CN: '(' } };
    const codes = templateFindings('person-sign', body).map((f) => f.code);
    expect(codes).toContain('TEMPLATE_SUBJECT_RULES');
    expect(codes).toContain('TEMPLATE_PATTERN_INVALID');
  });

  it('checks a subject against required, allowed and patterns', () => {
    const body = personSign();
    body.subject = { required: ['C', 'CN'], allowed: ['C', 'CN', 'O'], patterns: { CN: '[A-Z][a-z]+' } };
    expect(
      subjectFindings(body, [
        { type: 'C', value: 'CN' },
        { type: 'CN', value: 'Wang' },
      ]),
    ).toEqual([]);
    const codes = subjectFindings(body, [
      { type: 'OU', value: 'x' },
      { type: 'CN', value: 'wang li' },
    ]).map((f) => f.code);
    expect(codes).toEqual([
      'TEMPLATE_SUBJECT_REQUIRED',
      'TEMPLATE_SUBJECT_NOT_ALLOWED',
      'TEMPLATE_SUBJECT_PATTERN',
    ]);
  });

  it('takes a new name its kind from the body, and lints it as that kind', () => {
    const staff: TemplateBody = { ...personSign(), kind: 'person-sign', validityDays: 365 };
    expect(templateKindOf('tax-bureau-staff', staff)).toBe('person-sign');
    expect(templateFindings('tax-bureau-staff', staff)).toEqual([]);
    expect(profileOfTemplate('person-sign', staff).maxValidityDays).toBe(365);
    const mixed = { ...staff, keyUsage: ['digitalSignature', 'keyAgreement'] } as TemplateBody;
    expect(templateFindings('tax-bureau-staff', mixed).map((f) => f.code)).toContain('KEY_USAGE_MIXED');
  });

  it('refuses a new name without a kind, and a kind name of another kind', () => {
    expect(templateKindOf('tax-bureau-staff', personSign())).toBeUndefined();
    expect(templateFindings('tax-bureau-staff', personSign())[0]!.code).toBe('TEMPLATE_KIND');
    const device = { ...personSign(), kind: 'device-sign' } as TemplateBody;
    expect(templateKindOf('person-sign', device)).toBeUndefined();
    expect(templateFindings('person-sign', device)[0]!.code).toBe('TEMPLATE_KIND');
    expect(templateKindOf('root-ca', { kind: 'person-sign' })).toBeUndefined();
  });

  it('lets only a signature kind name an encryption twin', () => {
    const encrypt = { ...templateOfProfile('person-encrypt', ['person']), encryptionTemplate: 'x-encrypt' };
    expect(templateFindings('person-encrypt', encrypt).map((f) => f.code)).toContain('TEMPLATE_TWIN');
    expect(templateFindings('person-sign', { ...personSign(), encryptionTemplate: 'x-encrypt' })).toEqual([]);
  });
});
