import { type Static, Type } from '@sinclair/typebox';

const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

/** The profiles of an encryption certificate whose key the KM generates. */
export const encryptionProfileIds = ['person-encrypt', 'organization-encrypt', 'device-encrypt'] as const;

/** What the RA may ask the CA to issue; the CA derives everything else from the profile. */
export const IssueInstructionSchema = Type.Object(
  {
    requestId: Type.String(),
    timestamp: Type.String(),
    operation: Type.Literal('issue'),
    profile: Text(64),
    /** The template issued under, of the profile's kind; absent: the profile's own. */
    template: Type.Optional(Text(64)),
    /** The approved version of the template; version 1, the seeded built-in profile, when absent. */
    templateVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    holderKey: Type.Optional(Text(128)),
    csr: Type.String({ minLength: 1, maxLength: 16384, pattern: '^[A-Za-z0-9+/]+={0,2}$' }),
    subject: Type.Array(
      Type.Object(
        {
          type: Type.Union([
            Type.Literal('CN'),
            Type.Literal('O'),
            Type.Literal('OU'),
            Type.Literal('L'),
            Type.Literal('ST'),
            Type.Literal('C'),
            Type.Literal('serialNumber'),
          ]),
          value: Text(128),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 16 },
    ),
    identity: Type.Optional(
      Type.Object(
        {
          residentId: Type.Optional(Text(32)),
          passportNumber: Type.Optional(Text(32)),
          militaryOfficerCardNumber: Type.Optional(Text(32)),
          insuranceNumber: Type.Optional(Text(32)),
          icRegistrationNumber: Type.Optional(Text(32)),
          organizationCode: Type.Optional(Text(32)),
          taxationNumber: Type.Optional(Text(32)),
          unifiedSocialCreditCode: Type.Optional(Text(32)),
        },
        { additionalProperties: false },
      ),
    ),
    subjectAltNames: Type.Optional(
      Type.Object(
        {
          dns: Type.Optional(Type.Array(Text(253), { maxItems: 100 })),
          email: Type.Optional(Type.Array(Text(254), { maxItems: 100 })),
          ip: Type.Optional(Type.Array(Text(45), { maxItems: 100 })),
        },
        { additionalProperties: false },
      ),
    ),
    validityDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    /** Also an encryption certificate, for a key the KM generates, escrows and envelopes to the CSR's key. */
    encryption: Type.Optional(
      Type.Object(
        {
          profile: Type.Union(encryptionProfileIds.map((id) => Type.Literal(id))),
          /** The encryption certificate's template, of the profile's kind; absent: the profile's own. */
          template: Type.Optional(Text(64)),
          /** Its approved version; version 1, the seeded built-in profile, when absent. */
          templateVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type IssueInstruction = Static<typeof IssueInstructionSchema>;
