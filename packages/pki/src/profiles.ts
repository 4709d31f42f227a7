import type { KeyUsageName } from './extensions.ts';
import { IDENTITY_EXTENSION_OIDS, type IdentityInfo } from './identity-extensions.ts';
import type { DnAttributeType } from './name.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';

export type ProfileId =
  | 'root-ca'
  | 'sub-ca'
  | 'person-sign'
  | 'person-encrypt'
  | 'organization-sign'
  | 'organization-encrypt'
  | 'device-sign'
  | 'device-encrypt'
  | 'ocsp-signer'
  | 'tls-server'
  | 'tls-device'
  | 'operator-sign';

/** What a certificate of one kind must look like (GM/T 0015 annex C types plus OCSP and TLS). */
export interface CertificateProfile {
  id: ProfileId;
  description: string;
  ca: boolean;
  selfSigned: boolean;
  /** basicConstraints pathLenConstraint of a sub-CA. */
  pathLen?: number;
  /** Exactly these bits, critical. */
  keyUsage: readonly KeyUsageName[];
  /** Exactly these purposes when present; absent means no EKU extension. */
  extendedKeyUsage?: readonly string[];
  maxValidityDays: number;
  /** Extension OIDs that must be present. */
  requiredExtensions: readonly string[];
  /** Extension OIDs that may be present besides the required ones. */
  optionalExtensions: readonly string[];
  subject: { required: readonly DnAttributeType[]; allowed: readonly DnAttributeType[] };
  /** Identity numbers this kind of holder may carry. */
  identity: readonly (keyof IdentityInfo)[];
}

const DAY_YEARS = 365.25;
const ALL_DN: readonly DnAttributeType[] = ['C', 'ST', 'L', 'O', 'OU', 'CN', 'serialNumber'];
const COMMON_REQUIRED = [OIDS.authorityKeyIdentifier, OIDS.subjectKeyIdentifier, OIDS.keyUsage];
const SIGN_USAGE: KeyUsageName[] = ['digitalSignature', 'nonRepudiation'];
const ENCRYPT_USAGE: KeyUsageName[] = ['keyEncipherment', 'dataEncipherment', 'keyAgreement'];
const PERSON_IDS: (keyof IdentityInfo)[] = ['identifyCode', 'insuranceNumber'];
const ORGANIZATION_IDS: (keyof IdentityInfo)[] = [
  'icRegistrationNumber',
  'organizationCode',
  'taxationNumber',
  'unifiedSocialCreditCode',
];

function endEntity(
  id: ProfileId,
  description: string,
  keyUsage: KeyUsageName[],
  identity: (keyof IdentityInfo)[],
  required: DnAttributeType[],
): CertificateProfile {
  return {
    id,
    description,
    ca: false,
    selfSigned: false,
    keyUsage,
    maxValidityDays: Math.floor(5 * DAY_YEARS),
    requiredExtensions: [...COMMON_REQUIRED, OIDS.cRLDistributionPoints],
    optionalExtensions: [
      OIDS.authorityInfoAccess,
      OIDS.certificatePolicies,
      OIDS.subjectAltName,
      OIDS.extendedKeyUsage,
      ...identity.map((f) => IDENTITY_EXTENSION_OIDS[f]),
    ],
    subject: { required, allowed: ALL_DN },
    identity,
  };
}

export const PROFILES: Readonly<Record<ProfileId, CertificateProfile>> = {
  'root-ca': {
    id: 'root-ca',
    description: 'Self-signed root CA',
    ca: true,
    selfSigned: true,
    keyUsage: ['keyCertSign', 'cRLSign'],
    maxValidityDays: Math.floor(30 * DAY_YEARS),
    requiredExtensions: [...COMMON_REQUIRED, OIDS.basicConstraints],
    optionalExtensions: [OIDS.certificatePolicies],
    subject: { required: ['C', 'O', 'CN'], allowed: ALL_DN },
    identity: [],
  },
  'sub-ca': {
    id: 'sub-ca',
    description: 'Subordinate CA issuing end-entity certificates only',
    ca: true,
    selfSigned: false,
    pathLen: 0,
    keyUsage: ['keyCertSign', 'cRLSign'],
    maxValidityDays: Math.floor(20 * DAY_YEARS),
    requiredExtensions: [...COMMON_REQUIRED, OIDS.basicConstraints, OIDS.cRLDistributionPoints],
    optionalExtensions: [OIDS.authorityInfoAccess, OIDS.certificatePolicies],
    subject: { required: ['C', 'O', 'CN'], allowed: ALL_DN },
    identity: [],
  },
  'person-sign': endEntity('person-sign', 'Signature certificate of a person', SIGN_USAGE, PERSON_IDS, [
    'C',
    'CN',
  ]),
  'person-encrypt': endEntity(
    'person-encrypt',
    'Encryption certificate of a person',
    ENCRYPT_USAGE,
    PERSON_IDS,
    ['C', 'CN'],
  ),
  'organization-sign': endEntity(
    'organization-sign',
    'Signature certificate of an organisation',
    SIGN_USAGE,
    ORGANIZATION_IDS,
    ['C', 'O', 'CN'],
  ),
  'organization-encrypt': endEntity(
    'organization-encrypt',
    'Encryption certificate of an organisation',
    ENCRYPT_USAGE,
    ORGANIZATION_IDS,
    ['C', 'O', 'CN'],
  ),
  'device-sign': endEntity(
    'device-sign',
    'Signature certificate of a device',
    SIGN_USAGE,
    [],
    ['C', 'O', 'CN'],
  ),
  'device-encrypt': endEntity(
    'device-encrypt',
    'Encryption certificate of a device',
    ENCRYPT_USAGE,
    [],
    ['C', 'O', 'CN'],
  ),
  'ocsp-signer': {
    id: 'ocsp-signer',
    description: 'Delegated OCSP response signer (RFC 6960 4.2.2.2)',
    ca: false,
    selfSigned: false,
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: [OIDS.kpOcspSigning],
    maxValidityDays: 398,
    requiredExtensions: [...COMMON_REQUIRED, OIDS.extendedKeyUsage, OIDS.ocspNoCheck],
    optionalExtensions: [OIDS.authorityInfoAccess, OIDS.certificatePolicies, OIDS.cRLDistributionPoints],
    subject: { required: ['C', 'O', 'CN'], allowed: ALL_DN },
    identity: [],
  },
  'tls-server': {
    ...endEntity('tls-server', 'TLS server', ['digitalSignature'], [], ['C', 'O', 'CN']),
    extendedKeyUsage: [OIDS.kpServerAuth],
    maxValidityDays: 398,
    requiredExtensions: [
      ...COMMON_REQUIRED,
      OIDS.cRLDistributionPoints,
      OIDS.extendedKeyUsage,
      OIDS.subjectAltName,
    ],
  },
  'tls-device': {
    ...endEntity(
      'tls-device',
      'TLS client and server of a device',
      ['digitalSignature'],
      [],
      ['C', 'O', 'CN'],
    ),
    extendedKeyUsage: [OIDS.kpServerAuth, OIDS.kpClientAuth],
    requiredExtensions: [...COMMON_REQUIRED, OIDS.cRLDistributionPoints, OIDS.extendedKeyUsage],
  },
  'operator-sign': {
    ...endEntity(
      'operator-sign',
      'Login certificate of a CA/RA operator (challenge signed under the GM default ID)',
      ['digitalSignature'],
      PERSON_IDS,
      ['C', 'CN'],
    ),
    extendedKeyUsage: [OIDS.kpClientAuth],
    // An administrator's credential: renewed every two years rather than every five.
    maxValidityDays: 2 * 366,
    requiredExtensions: [...COMMON_REQUIRED, OIDS.cRLDistributionPoints, OIDS.extendedKeyUsage],
  },
};

export function getProfile(profile: ProfileId | CertificateProfile): CertificateProfile {
  if (typeof profile !== 'string') return profile;
  const found = PROFILES[profile];
  if (!found) throw new PkiError('PROFILE_UNKNOWN', `unknown certificate profile ${profile}`);
  return found;
}

/** Extensions a profile lets a certificate carry at all. */
export function allowedExtensions(profile: CertificateProfile): Set<string> {
  return new Set([...profile.requiredExtensions, ...profile.optionalExtensions]);
}
