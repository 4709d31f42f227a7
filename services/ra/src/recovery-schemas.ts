import { Type } from '@sinclair/typebox';
import { literals, Nullable } from './ra-context.ts';

export const recoveryStatuses = [
  'submitted',
  'approved',
  'released',
  'downloaded',
  'rejected',
  'failed',
] as const;
export type RecoveryStatus = (typeof recoveryStatuses)[number];

export const CertificateRefSchema = Type.Object(
  {
    issuerId: Type.String({ minLength: 1, maxLength: 128 }),
    serial: Type.String({ pattern: '^[0-9A-Fa-f:]{1,64}$', description: 'hex, colons allowed' }),
  },
  { additionalProperties: false },
);

export const CertificateRefView = Type.Object({ issuerId: Type.String(), serial: Type.String() });

export const documentTypes = [
  'resident_id_card',
  'passport',
  'mainland_travel_permit',
  'foreign_permanent_residence_card',
  'military_officer_card',
  'business_licence',
  'other',
] as const;

export const text = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, ...(description ? { description } : {}) });

/** An identity document as it was shown to the operator. */
export const IdentityDocument = Type.Object(
  { documentType: literals(documentTypes), documentNumber: text(64) },
  { additionalProperties: false },
);

export const KmFailure = Nullable(
  Type.Object(
    {
      code: Type.String(),
      message: Type.String(),
      kmCode: Type.Optional(Type.String({ description: 'the GM/T 0014 refusal code KM gave' })),
    },
    { description: 'why KM did not release the key; the recovery ended' },
  ),
);

/** The released key as the recipient fetches it. */
export const ReleasedKey = Type.Object({
  recoveryId: Type.String(),
  issuerId: Type.String({ description: 'issuer of the encryption certificate' }),
  serial: Type.String({ description: 'serial of the encryption certificate' }),
  encryptionCertificate: Type.String({ description: 'the encryption certificate, base64 DER' }),
  publicKey: Type.String({ description: 'the escrowed key, SubjectPublicKeyInfo base64 DER' }),
  envelopedKey: Type.String({
    description:
      'the private key as SM2EnvelopedKey (GM/T 0009 / GB/T 35276), base64 DER, opened with the recipient private key',
  }),
  recipient: Type.Object(
    { issuerId: Type.String(), serial: Type.String() },
    { description: 'the signature certificate whose key opens the envelope' },
  ),
});
