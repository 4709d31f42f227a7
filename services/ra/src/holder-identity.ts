import { isIP } from 'node:net';
import { type Static, Type } from '@sinclair/typebox';
import {
  type CertificateProfile,
  type IdentityInfo,
  isOrganizationCode,
  isResidentId,
  isUnifiedSocialCreditCode,
  OIDS,
  PROFILES,
  type ProfileId,
} from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';

export const holderTypes = ['person', 'organisation', 'device'] as const;
export type HolderType = (typeof holderTypes)[number];

const text = (maxLength: number) => Type.String({ minLength: 1, maxLength });

export const IdentitySchema = Type.Object(
  {
    residentId: Type.Optional(
      Type.String({ description: 'GB 11643 citizen identity number, 18 characters' }),
    ),
    passportNumber: Type.Optional(Type.String()),
    militaryOfficerCardNumber: Type.Optional(Type.String()),
    insuranceNumber: Type.Optional(Type.String()),
    icRegistrationNumber: Type.Optional(Type.String()),
    organizationCode: Type.Optional(Type.String({ description: 'GB 11714, XXXXXXXX-C or XXXXXXXXC' })),
    taxationNumber: Type.Optional(Type.String()),
    unifiedSocialCreditCode: Type.Optional(Type.String({ description: 'GB 32100, 18 characters' })),
  },
  { additionalProperties: false },
);
export type Identity = Static<typeof IdentitySchema>;

export const HolderSchema = Type.Object(
  {
    commonName: text(64),
    organization: Type.Optional(text(128)),
    organizationalUnit: Type.Optional(text(128)),
    locality: Type.Optional(text(128)),
    province: Type.Optional(text(128)),
    country: Type.Optional(
      Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166 code; CN when absent' }),
    ),
    email: Type.Optional(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$', maxLength: 128 })),
    identity: Type.Optional(IdentitySchema),
    dnsNames: Type.Optional(Type.Array(Type.String({ maxLength: 253 }), { maxItems: 20 })),
    ipAddresses: Type.Optional(Type.Array(Type.String({ maxLength: 45 }), { maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type Holder = Static<typeof HolderSchema>;

/** Which certificate profiles each kind of holder may apply for; CA, sub-CA and OCSP profiles never come through the RA. */
export const profilesByHolderType: Readonly<Record<HolderType, readonly ProfileId[]>> = {
  person: ['person-sign', 'person-encrypt', 'operator-sign'],
  organisation: ['organization-sign', 'organization-encrypt'],
  device: ['device-sign', 'device-encrypt', 'tls-server', 'tls-device'],
};

type IdentityField = keyof Identity;

/** The GM/T 0015 extension each identity field lands in (the three card numbers share the IdentifyCode CHOICE). */
const extensionOf: Readonly<Record<IdentityField, keyof IdentityInfo>> = {
  residentId: 'identifyCode',
  passportNumber: 'identifyCode',
  militaryOfficerCardNumber: 'identifyCode',
  insuranceNumber: 'insuranceNumber',
  icRegistrationNumber: 'icRegistrationNumber',
  organizationCode: 'organizationCode',
  taxationNumber: 'taxationNumber',
  unifiedSocialCreditCode: 'unifiedSocialCreditCode',
};

const formats: Readonly<Record<IdentityField, { valid: (v: string) => boolean; expect: string }>> = {
  residentId: {
    valid: isResidentId,
    expect: '18 characters with a valid birth date and GB 11643 check digit',
  },
  passportNumber: { valid: (v) => /^[A-Z0-9]{5,20}$/.test(v), expect: '5-20 capital letters or digits' },
  militaryOfficerCardNumber: {
    valid: (v) => v.length <= 32 && /^[\p{L}\p{N}-]+$/u.test(v),
    expect: '1-32 letters, digits or dashes',
  },
  insuranceNumber: { valid: (v) => /^[0-9A-Z]{6,32}$/.test(v), expect: '6-32 capital letters or digits' },
  icRegistrationNumber: { valid: (v) => /^(\d{13}|\d{15})$/.test(v), expect: '13 or 15 digits' },
  organizationCode: {
    valid: isOrganizationCode,
    expect: '9 characters with a valid GB 11714 check character',
  },
  taxationNumber: { valid: (v) => /^[0-9A-Z]{15,20}$/.test(v), expect: '15-20 capital letters or digits' },
  unifiedSocialCreditCode: {
    valid: isUnifiedSocialCreditCode,
    expect: '18 characters with a valid GB 32100 check character',
  },
};

/** Prefixes of the holder key, in the order an identifier is preferred as the holder's key. */
const holderKeyPrefixes: ReadonlyArray<[IdentityField, string]> = [
  ['residentId', 'resident-id'],
  ['passportNumber', 'passport'],
  ['militaryOfficerCardNumber', 'military-officer-card'],
  ['unifiedSocialCreditCode', 'uscc'],
  ['organizationCode', 'organization-code'],
  ['icRegistrationNumber', 'ic-registration'],
  ['taxationNumber', 'taxation'],
];

const cardFields: readonly IdentityField[] = ['residentId', 'passportNumber', 'militaryOfficerCardNumber'];
const organisationFields: readonly IdentityField[] = [
  'unifiedSocialCreditCode',
  'organizationCode',
  'icRegistrationNumber',
  'taxationNumber',
];

const dnsName = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export type SubjectAttribute = { type: 'CN' | 'O' | 'OU' | 'L' | 'ST' | 'C'; value: string };

/** What the CA instruction says about the holder (the RA→CA issue contract). */
export interface HolderInstruction {
  subject: SubjectAttribute[];
  identity?: Identity;
  subjectAltNames?: { dns?: string[]; email?: string[]; ip?: string[] };
}

export interface VettedHolder {
  profile: CertificateProfile;
  holder: Holder;
  holderKey: string;
  instruction: HolderInstruction;
}

function refuse(code: string, message: string, details?: Record<string, unknown>): never {
  throw new AppError(code, message, 400, details);
}

function profileFor(holderType: HolderType, profileId: string): CertificateProfile {
  const allowed = profilesByHolderType[holderType];
  if (!(allowed as readonly string[]).includes(profileId)) {
    refuse('PROFILE_NOT_FOR_HOLDER', `a ${holderType} may apply for: ${allowed.join(', ')}`, {
      profile: profileId,
      allowed: [...allowed],
    });
  }
  return PROFILES[profileId as ProfileId];
}

function trimmed(holder: Holder): Holder {
  const out: Holder = { ...holder, country: holder.country ?? 'CN' };
  for (const key of ['commonName', 'organization', 'organizationalUnit', 'locality', 'province'] as const) {
    const value = out[key]?.trim();
    if (value === '') refuse('HOLDER_FIELD_INVALID', `${key} is blank`, { field: key });
    if (value !== undefined) out[key] = value;
  }
  if (holder.identity) {
    const identity = Object.fromEntries(
      Object.entries(holder.identity).map(([k, v]) => [k, v.trim().toUpperCase()]),
    ) as Identity;
    // Organisation codes are written with or without the dash; one spelling keeps the holder key stable.
    if (identity.organizationCode) identity.organizationCode = identity.organizationCode.replace('-', '');
    out.identity = identity;
  }
  if (holder.dnsNames) out.dnsNames = holder.dnsNames.map((d) => d.trim().toLowerCase());
  return out;
}

function checkIdentity(holderType: HolderType, profile: CertificateProfile, identity: Identity): void {
  const fields = Object.keys(identity) as IdentityField[];
  for (const field of fields) {
    if (!profile.identity.includes(extensionOf[field])) {
      refuse('IDENTITY_NOT_ALLOWED', `a ${profile.id} certificate does not carry ${field}`, { field });
    }
    const format = formats[field];
    if (!format.valid(identity[field]!)) {
      refuse('IDENTITY_INVALID', `${field} must be ${format.expect}`, { field });
    }
  }
  const cards = fields.filter((f) => cardFields.includes(f));
  if (cards.length > 1) {
    refuse(
      'IDENTITY_INVALID',
      `give one of ${cardFields.join(', ')}: the certificate holds one identify code`,
      {
        fields: cards,
      },
    );
  }
  if (holderType === 'person' && cards.length === 0) {
    refuse('IDENTITY_REQUIRED', `a person needs one of: ${cardFields.join(', ')}`);
  }
  if (holderType === 'organisation' && !fields.some((f) => organisationFields.includes(f))) {
    refuse('IDENTITY_REQUIRED', `an organisation needs one of: ${organisationFields.join(', ')}`);
  }
}

function subjectOf(holder: Holder): SubjectAttribute[] {
  const pairs: Array<[SubjectAttribute['type'], string | undefined]> = [
    ['C', holder.country],
    ['ST', holder.province],
    ['L', holder.locality],
    ['O', holder.organization],
    ['OU', holder.organizationalUnit],
    ['CN', holder.commonName],
  ];
  return pairs
    .filter((p): p is [SubjectAttribute['type'], string] => p[1] !== undefined)
    .map(([type, value]) => ({
      type,
      value,
    }));
}

function altNamesOf(holder: Holder, profile: CertificateProfile): HolderInstruction['subjectAltNames'] {
  for (const name of holder.dnsNames ?? []) {
    if (!dnsName.test(name))
      refuse('HOLDER_FIELD_INVALID', `${name} is not a DNS name`, { field: 'dnsNames' });
  }
  for (const ip of holder.ipAddresses ?? []) {
    if (!isIP(ip)) refuse('HOLDER_FIELD_INVALID', `${ip} is not an IP address`, { field: 'ipAddresses' });
  }
  const san = {
    ...(holder.dnsNames?.length ? { dns: holder.dnsNames } : {}),
    ...(holder.email ? { email: [holder.email] } : {}),
    ...(holder.ipAddresses?.length ? { ip: holder.ipAddresses } : {}),
  };
  if (profile.requiredExtensions.includes(OIDS.subjectAltName) && !san.dns && !san.ip) {
    refuse('HOLDER_FIELD_REQUIRED', `a ${profile.id} certificate needs dnsNames or ipAddresses`, {
      field: 'dnsNames',
    });
  }
  return Object.keys(san).length > 0 ? san : undefined;
}

function holderKeyOf(holderType: HolderType, holder: Holder): string {
  if (holderType === 'device') return `device:${holder.commonName.toLowerCase()}`;
  for (const [field, prefix] of holderKeyPrefixes) {
    const value = holder.identity?.[field];
    if (value) return `${prefix}:${value}`;
  }
  // checkIdentity guarantees a person or organisation has one of the keyed identifiers.
  throw new AppError('IDENTITY_REQUIRED', 'the holder has no identifier to key it by');
}

/**
 * Checks what the entry clerk keyed in against the holder type and the profile
 * and derives everything the RA later needs from it: the stable holder key and
 * the CA instruction's subject, identity extensions and alternative names.
 */
export function vetHolder(holderType: HolderType, profileId: string, input: Holder): VettedHolder {
  const profile = profileFor(holderType, profileId);
  const holder = trimmed(input);
  checkIdentity(holderType, profile, holder.identity ?? {});
  const subject = subjectOf(holder);
  for (const type of profile.subject.required) {
    if (!subject.some((a) => a.type === type)) {
      refuse('HOLDER_FIELD_REQUIRED', `a ${profile.id} certificate needs the subject attribute ${type}`, {
        attribute: type,
      });
    }
  }
  const subjectAltNames = altNamesOf(holder, profile);
  const identity = holder.identity && Object.keys(holder.identity).length > 0 ? holder.identity : undefined;
  return {
    profile,
    holder,
    holderKey: holderKeyOf(holderType, holder),
    instruction: {
      subject,
      ...(identity ? { identity } : {}),
      ...(subjectAltNames ? { subjectAltNames } : {}),
    },
  };
}
