import { randomBytes } from 'node:crypto';
import { AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import { Extension, Extensions, Validity } from '@peculiar/asn1-x509';
import { decodeSm2Spki, encodeSm2Spki, GmError } from '@sm2ca/gm';
import { type CertificateExtension, findExtension, type ParsedCertificate } from './certificate.ts';
import { derInteger, derTlv, TAG_SEQUENCE } from './crl-der-writer.ts';
import { SM2_WITH_SM3_ALGORITHM } from './crl-ocsp-algorithms.ts';
import {
  authorityInfoAccessExtension,
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  certificatePoliciesExtension,
  crlDistributionPointsExtension,
  decodeSubjectKeyIdentifier,
  extendedKeyUsageExtension,
  keyUsageExtension,
  ocspNoCheckExtension,
  type PolicySpec,
  type SubjectAltNames,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
} from './extensions.ts';
import { type IdentityInfo, identityExtensions } from './identity-extensions.ts';
import { keyIdentifier } from './key-identifier.ts';
import { type DnAttribute, encodeName } from './name.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';
import { allowedExtensions, type CertificateProfile, getProfile, type ProfileId } from './profiles.ts';
import { toAsnTime } from './time.ts';

export interface TbsInput {
  profile: ProfileId | CertificateProfile;
  subject: readonly DnAttribute[];
  /** 65-byte 04‖X‖Y or an SPKI DER; always re-emitted in the GM/T 0015 SPKI form. */
  publicKey: Uint8Array;
  /** The issuing CA's certificate; absent only for a self-signed root. */
  issuer?: ParsedCertificate;
  notBefore: Date;
  notAfter: Date;
  /** Unsigned big-endian serial; 16 random bytes (top bit clear) when absent. */
  serialNumber?: Uint8Array;
  crlDistributionPoints?: readonly string[];
  ocspUrls?: readonly string[];
  caIssuersUrls?: readonly string[];
  policies?: readonly PolicySpec[];
  subjectAltName?: SubjectAltNames;
  identity?: IdentityInfo;
}

/** The raw parts of a TBSCertificate; `buildTbsCertificate` fills them from a profile. */
export interface TbsFields {
  /** 1..3; v1 carries no extensions. */
  version: number;
  /** Unsigned big-endian serial. */
  serialNumber: Uint8Array;
  /** DER AlgorithmIdentifier; SM2-with-SM3 without parameters unless given. */
  signatureAlgorithm?: Uint8Array;
  /** DER Names, copied verbatim. */
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  extensions: readonly CertificateExtension[];
}

const DAY_MS = 86_400_000;

/** 16 random bytes, top bit clear: a positive INTEGER of 128 bits at most, never needing a sign octet. */
export function randomSerialNumber(): Uint8Array {
  const serial = new Uint8Array(randomBytes(16));
  serial[0]! &= 0x7f;
  if (serial[0] === 0) serial[0] = 0x01;
  return serial;
}

/**
 * Builds the DER TBSCertificate for `input` under its profile: v3, SM2-with-SM3 without
 * parameters, issuer copied byte for byte from the issuer certificate's subject, the profile's
 * extensions. Throws PkiError when the input does not fit the profile.
 */
export function buildTbsCertificate(input: TbsInput): Uint8Array {
  const profile = getProfile(input.profile);
  if (profile.selfSigned !== (input.issuer === undefined)) {
    throw new PkiError(
      'PROFILE_ISSUER',
      profile.selfSigned
        ? `${profile.id} is self-signed: no issuer`
        : `${profile.id} needs an issuer certificate`,
    );
  }
  const publicKey = toPublicKey(input.publicKey);
  checkValidity(profile, input);
  checkSubject(profile, input.subject);

  const subject = encodeName(input.subject);
  const ski = keyIdentifier(publicKey);
  const aki = input.issuer ? issuerKeyId(input.issuer) : ski;
  const extensions = profileExtensions(profile, input, ski, aki);

  const allowed = allowedExtensions(profile);
  for (const ext of extensions) {
    if (!allowed.has(ext.oid)) {
      throw new PkiError(
        'PROFILE_EXTENSION_NOT_ALLOWED',
        `${profile.id} does not allow extension ${ext.oid}`,
      );
    }
  }
  for (const oid of profile.requiredExtensions) {
    if (!extensions.some((e) => e.oid === oid)) {
      throw new PkiError(
        'PROFILE_EXTENSION_MISSING',
        `${profile.id} needs extension ${oid}; supply its data`,
      );
    }
  }

  return assembleTbsCertificate({
    version: 3,
    serialNumber: input.serialNumber ?? randomSerialNumber(),
    issuer: input.issuer ? input.issuer.subject : subject,
    subject,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    spki: encodeSm2Spki(publicKey),
    extensions,
  });
}

/** DER TBSCertificate from its parts, exactly as given; no profile rules applied. */
export function assembleTbsCertificate(fields: TbsFields): Uint8Array {
  const validity = new Validity();
  validity.notBefore = toAsnTime(fields.notBefore);
  validity.notAfter = toAsnTime(fields.notAfter);
  const parts: Uint8Array[] = [];
  // The version is written out because DER omits a DEFAULT value, and v1 is the default.
  if (fields.version !== 1) parts.push(derTlv(0xa0, derInteger(BigInt(fields.version - 1))));
  parts.push(
    derInteger(fields.serialNumber),
    fields.signatureAlgorithm ?? SM2_WITH_SM3_ALGORITHM,
    fields.issuer,
    new Uint8Array(AsnSerializer.serialize(validity)),
    fields.subject,
    fields.spki,
  );
  if (fields.version === 3 && fields.extensions.length > 0) {
    const extensions = new Extensions(
      fields.extensions.map(
        (e) => new Extension({ extnID: e.oid, critical: e.critical, extnValue: new OctetString(e.value) }),
      ),
    );
    parts.push(derTlv(0xa3, new Uint8Array(AsnSerializer.serialize(extensions))));
  }
  return new Uint8Array(derTlv(TAG_SEQUENCE, ...parts));
}

function profileExtensions(
  profile: CertificateProfile,
  input: TbsInput,
  ski: Uint8Array,
  aki: Uint8Array,
): CertificateExtension[] {
  const out: CertificateExtension[] = [];
  if (profile.ca) out.push(basicConstraintsExtension(true, profile.pathLen));
  out.push(keyUsageExtension(profile.keyUsage));
  if (profile.extendedKeyUsage) out.push(extendedKeyUsageExtension(profile.extendedKeyUsage));
  out.push(subjectKeyIdentifierExtension(ski), authorityKeyIdentifierExtension(aki));
  if (input.crlDistributionPoints?.length)
    out.push(crlDistributionPointsExtension(input.crlDistributionPoints));
  if (input.ocspUrls?.length || input.caIssuersUrls?.length) {
    out.push(authorityInfoAccessExtension(input.ocspUrls ?? [], input.caIssuersUrls ?? []));
  }
  if (input.policies?.length) out.push(certificatePoliciesExtension(input.policies));
  if (input.subjectAltName) out.push(subjectAltNameExtension(input.subjectAltName));
  if (input.identity) {
    for (const field of Object.keys(input.identity) as (keyof IdentityInfo)[]) {
      if (input.identity[field] !== undefined && !profile.identity.includes(field)) {
        throw new PkiError('PROFILE_IDENTITY_NOT_ALLOWED', `${profile.id} does not carry ${field}`);
      }
    }
    out.push(...identityExtensions(input.identity));
  }
  if (profile.requiredExtensions.includes(OIDS.ocspNoCheck)) out.push(ocspNoCheckExtension());
  return out;
}

function toPublicKey(key: Uint8Array): Uint8Array {
  try {
    return key.length === 65 && key[0] === 0x04 ? decodeSm2Spki(encodeSm2Spki(key)) : decodeSm2Spki(key);
  } catch (err) {
    if (err instanceof GmError) throw new PkiError('PUBLIC_KEY_INVALID', err.message, { cause: err });
    throw err;
  }
}

function checkValidity(profile: CertificateProfile, input: TbsInput): void {
  const { notBefore, notAfter, issuer } = input;
  if (!(notAfter.getTime() > notBefore.getTime())) {
    throw new PkiError('VALIDITY_INVALID', 'notAfter must be later than notBefore');
  }
  if (notAfter.getTime() - notBefore.getTime() > profile.maxValidityDays * DAY_MS) {
    throw new PkiError('VALIDITY_TOO_LONG', `${profile.id} allows at most ${profile.maxValidityDays} days`);
  }
  if (issuer && (notAfter > issuer.notAfter || notBefore < issuer.notBefore)) {
    throw new PkiError('VALIDITY_BEYOND_ISSUER', 'validity must lie within the issuer certificate validity');
  }
}

function checkSubject(profile: CertificateProfile, subject: readonly DnAttribute[]): void {
  for (const type of profile.subject.required) {
    if (!subject.some((a) => a.type === type)) {
      throw new PkiError('PROFILE_SUBJECT', `${profile.id} subject needs ${type}`);
    }
  }
  for (const { type } of subject) {
    if (!profile.subject.allowed.includes(type)) {
      throw new PkiError('PROFILE_SUBJECT', `${profile.id} subject may not contain ${type}`);
    }
  }
}

function issuerKeyId(issuer: ParsedCertificate): Uint8Array {
  const ski = findExtension(issuer, OIDS.subjectKeyIdentifier);
  if (ski) return decodeSubjectKeyIdentifier(ski.value);
  return keyIdentifier(toPublicKey(issuer.spki));
}
