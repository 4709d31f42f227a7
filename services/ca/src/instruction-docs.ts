import { Type } from '@sinclair/typebox';
import { caActionKinds, instructionSignatureHeader, revocationReasons, withExample } from '@sm2ca/platform';
import { CaActionInstructionSchema } from './ca-action-instruction.ts';
import { requestableProfileIds } from './issuance.ts';
import { encryptionProfileIds, IssueInstructionSchema } from './issue-instruction.ts';
import { ReleaseInstructionSchema } from './release.ts';
import { RevokeInstructionSchema } from './revocation.ts';

/**
 * How the OpenAPI document shows the CA's routes. Their bodies are checked only after the
 * RA signature over the raw bytes verifies, so these schemas describe and never validate.
 */

const stringEnum = (values: readonly string[], description: string) =>
  Type.Unsafe<string>({ type: 'string', enum: [...values], description });

const requestId = '0b6c1f4e-8d1a-4a57-9a43-2f1f8c0f5d11';
const timestamp = '2026-12-02T10:48:57.900Z';
const serial = '047486ac30b0188b29c85a61320b67cb';

export const SignatureHeaders = Type.Object({
  [instructionSignatureHeader]: Type.String({
    description: "base64 SM2-with-SM3 signature (GM default ID) of the exact body bytes under the RA's key",
  }),
});

export const IssueInstructionBody = withExample(
  Type.Object(
    {
      ...IssueInstructionSchema.properties,
      profile: stringEnum(
        requestableProfileIds,
        'an end-entity profile; CA and OCSP certificates come from the ceremony; an *-encrypt profile only with ca.allowHolderEncryptionKeys (else 422 ENCRYPTION_KEY_NOT_FROM_KM)',
      ),
      encryption: Type.Optional(
        Type.Object(
          {
            profile: stringEnum(
              encryptionProfileIds,
              "the encryption twin's profile, for the signature profile's kind of holder (else 422 ENCRYPTION_PROFILE_MISMATCH)",
            ),
          },
          {
            additionalProperties: false,
            description:
              'Also an encryption certificate, for a key the KM generates and escrows; KM unreachable: 503 KM_UNAVAILABLE (send the same request id again), KM refusal: 502 KM_REFUSED',
          },
        ),
      ),
    },
    { additionalProperties: false },
  ),
  {
    requestId,
    timestamp,
    operation: 'issue',
    profile: 'person-sign',
    holderKey: 'resident-id:11010519491231002X',
    csr: 'MIHcMIGDAgEAMCExCzAJBgNVBAYTAkNOMRIwEAYDVQQDDAlaaGFuZyBTYW4wWTAT...',
    subject: [
      { type: 'C', value: 'CN' },
      { type: 'CN', value: '张三' },
    ],
    identity: { residentId: '11010519491231002X' },
    encryption: { profile: 'person-encrypt' },
  },
);

export const IssueResultSchema = withExample(
  Type.Object({
    issuerId: Type.String(),
    serial: Type.String({ description: 'hex' }),
    certificate: Type.String({ description: 'base64 DER' }),
    chain: Type.Array(Type.String(), { description: 'base64 DER, the issuing CA first and the root last' }),
    encryption: Type.Optional(
      Type.Object(
        {
          serial: Type.String({ description: 'hex' }),
          certificate: Type.String({ description: 'base64 DER' }),
          envelopedKey: Type.String({
            description:
              "base64 SM2EnvelopedKey DER (GM/T 0009): the encryption private key, enveloped to the signature certificate's key",
          }),
        },
        { description: 'with an encryption instruction: the encryption certificate and its key' },
      ),
    ),
  }),
  {
    issuerId: 'sub',
    serial,
    certificate: 'MIICNjCCAdygAwIBAgIQBHSGrDCwGIspyFphMgtnyzAKBggqgRzPVQGDdTA/...',
    chain: ['MIIB9zCCAZ2gAwIBAgIQOo5OiA8jO8j...', 'MIIBwzCCAWmgAwIBAgIQLpXqo0LpO8...'],
    encryption: {
      serial: '5c1d0e7b92a4f3086e1bd2c4a97f0e21',
      certificate: 'MIICODCCAd6gAwIBAgIQXB0Oe5Kk8whuG9LEqX8OITAKBggqgRzPVQGDdTA/...',
      envelopedKey: 'MIH3MAwGCCqBHM9VAWgBBQAwegIhAO3S...',
    },
  },
);

export const RevokeInstructionBody = withExample(
  Type.Object(
    {
      ...RevokeInstructionSchema.properties,
      reason: stringEnum(revocationReasons, 'RFC 5280 CRLReason; certificateHold suspends'),
    },
    { additionalProperties: false },
  ),
  { requestId, timestamp, operation: 'revoke', issuerId: 'sub', serial, reason: 'keyCompromise' },
);

export const RevokeResultSchema = withExample(
  Type.Object({
    issuerId: Type.String(),
    serial: Type.String(),
    status: Type.Union([Type.Literal('revoked'), Type.Literal('hold')]),
    revokedAt: Type.String({ format: 'date-time' }),
  }),
  { issuerId: 'sub', serial, status: 'revoked', revokedAt: '2026-12-02T10:49:00.817Z' },
);

export const CaActionInstructionBody = withExample(
  Type.Object(
    {
      ...CaActionInstructionSchema.properties,
      kind: stringEnum(caActionKinds, 'the kind of the action, as recorded'),
    },
    { additionalProperties: false },
  ),
  {
    requestId: 'ca-action-7',
    timestamp,
    operation: 'ca-action',
    actionId: '7',
    kind: 'rotate_ra_key',
    digest: '5f1c0a3e9d2b7c4e8a6f1d3b5c7e9a0b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c',
  },
);

export const CaActionResultSchema = withExample(
  Type.Object({
    actionId: Type.String(),
    kind: Type.String(),
    state: Type.Literal('executed'),
    result: Type.Record(Type.String(), Type.Unknown()),
  }),
  {
    actionId: '7',
    kind: 'rotate_ra_key',
    state: 'executed',
    result: { issuer: 'ra-2', serial, retired: { issuer: 'ra', reason: 'superseded' } },
  },
);

export const ReleaseInstructionBody = withExample(ReleaseInstructionSchema, {
  requestId,
  timestamp,
  operation: 'release',
  issuerId: 'sub',
  serial,
});

export const ReleaseResultSchema = withExample(
  Type.Object({
    issuerId: Type.String(),
    serial: Type.String(),
    status: Type.Literal('good'),
    releasedAt: Type.String({ format: 'date-time' }),
  }),
  { issuerId: 'sub', serial, status: 'good', releasedAt: '2026-12-02T10:49:00.817Z' },
);
