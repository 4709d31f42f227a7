import { Type } from '@sinclair/typebox';
import { templateKinds } from '@sm2ca/pki';
import { holderTypes } from './holder-identity.ts';
import { literals } from './ra-context.ts';

const keyUsages = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
const identityExtensions = [
  'identifyCode',
  'insuranceNumber',
  'icRegistrationNumber',
  'organizationCode',
  'taxationNumber',
  'unifiedSocialCreditCode',
] as const;
const dnTypes = ['C', 'ST', 'L', 'O', 'OU', 'CN', 'serialNumber'] as const;
const Oid = Type.String({ pattern: '^[0-2](\\.(0|[1-9][0-9]*)){1,20}$', maxLength: 128 });
const Pattern = Type.String({ minLength: 1, maxLength: 256 });

/** A template's name: lower-case words joined by hyphens (the certificate_templates_name check of migration 0030). */
export const templateName = (
  description = 'a built-in kind (person-sign, ...) or a name of its own, such as tax-bureau-staff',
) => Type.String({ pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$', minLength: 1, maxLength: 64, description });

/** A template version as drafted: every field named, nothing else accepted (packages/pki certificate-template.ts). */
export const TemplateBodySchema = Type.Object(
  {
    kind: Type.Optional(
      literals(templateKinds, {
        description:
          "the end-entity kind the template's certificates are (key purpose, encryption twin, holder rules); " +
          'absent: the name is the kind. A template named after a kind is of that kind',
      }),
    ),
    description: Type.String({ minLength: 1, maxLength: 200 }),
    validityDays: Type.Integer({
      minimum: 1,
      maximum: 3650,
      description: 'the longest validity of a certificate under this version, and its default',
    }),
    keyUsage: Type.Array(literals(keyUsages), { minItems: 1, maxItems: 9, uniqueItems: true }),
    extendedKeyUsage: Type.Optional(Type.Array(Oid, { minItems: 1, maxItems: 10, uniqueItems: true })),
    extensions: Type.Object(
      {
        required: Type.Array(Oid, { maxItems: 20, uniqueItems: true }),
        optional: Type.Array(Oid, { maxItems: 20, uniqueItems: true }),
      },
      {
        additionalProperties: false,
        description: 'extension OIDs a certificate must carry, and may carry besides',
      },
    ),
    subject: Type.Object(
      {
        required: Type.Array(literals(dnTypes), { maxItems: 7, uniqueItems: true }),
        allowed: Type.Array(literals(dnTypes), { minItems: 1, maxItems: 7, uniqueItems: true }),
        patterns: Type.Optional(
          Type.Object(Object.fromEntries(dnTypes.map((t) => [t, Type.Optional(Pattern)])), {
            additionalProperties: false,
            description: 'a regular expression (Unicode) each value of the attribute must match in full',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    holderTypes: Type.Array(literals(holderTypes), { minItems: 1, maxItems: 3, uniqueItems: true }),
    identity: Type.Array(literals(identityExtensions), {
      maxItems: 6,
      uniqueItems: true,
      description: 'GM/T 0015 identity extensions a holder of this template may carry',
    }),
    renewal: Type.Optional(
      Type.Object(
        {
          sameKeyRenewal: Type.Boolean(),
          supersede: literals(['revoke', 'expire']),
        },
        {
          additionalProperties: false,
          description:
            'absent: not renewable; supersede says whether the renewed certificate is revoked or left to expire',
        },
      ),
    ),
    encryptionTemplate: Type.Optional(
      templateName(
        "a signature template's encryption twin in a dual enrollment: the template (of the kind's twin kind, " +
          'person-encrypt for person-sign) whose newest approved version the KM-generated certificate is issued ' +
          "under; absent: the kind's own twin template",
      ),
    ),
  },
  { additionalProperties: false },
);
