import { randomBytes } from 'node:crypto';
import { decodeSm2Spki, encodeSm2Spki, GmError } from '@sm2ca/gm';
import {
  type CertificateExtension,
  findExtension,
  type ParsedCertificate,
  type ParsedTbsCertificate,
} from './certificate.ts';
import {
  derInteger,
  derIntegerContent,
  derOid,
  derTimeLength,
  derTlv,
  TAG_SEQUENCE,
  writeDerTime,
} from './crl-der-writer.ts';
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
  return planTbsCertificate(input).tbs;
}

/**
 * `buildTbsCertificate`, with the fields as `parseTbsCertificate` would read them back from the
 * DER: the CA lints what it built without parsing it again, which cost as much as building it.
 */
export function planTbsCertificate(input: TbsInput): ParsedTbsCertificate {
  const profile = getProfile(input.profile);
  if (profile.selfSigned !== (input.issuer === undefined)) {
    throw new PkiError(
      'PROFILE_ISSUER',
      profile.selfSigned
        ? `${profile.id} is self-signed: no issuer`
        : `${profile.id} needs an issuer certificate`,
    );
  }
  const { publicKey, spki } = toPublicKey(input.publicKey);
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

  const fields: TbsFields = {
    version: 3,
    serialNumber: input.serialNumber ?? randomSerialNumber(),
    issuer: input.issuer ? input.issuer.subject : subject,
    subject,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    spki,
    extensions,
  };
  const serialNumber = new Uint8Array(derIntegerContent(fields.serialNumber));
  const notBefore = toAsnTime(fields.notBefore);
  const notAfter = toAsnTime(fields.notAfter);
  return {
    tbs: assembleTbsCertificate(fields),
    version: fields.version,
    serialNumber,
    serialHex: Buffer.from(
      serialNumber[0] === 0 && serialNumber.length > 1 ? serialNumber.subarray(1) : serialNumber,
    ).toString('hex'),
    tbsSignatureAlgorithm: { oid: OIDS.sm2WithSm3 },
    issuer: fields.issuer,
    subject: fields.subject,
    notBefore: notBefore.getTime(),
    notAfter: notAfter.getTime(),
    notBeforeType: notBefore.utcTime ? 'utcTime' : 'generalTime',
    notAfterType: notAfter.utcTime ? 'utcTime' : 'generalTime',
    spki: fields.spki,
    hasUniqueIds: false,
    extensions,
  };
}

/** DER TBSCertificate from its parts, exactly as given; no profile rules applied. */
export function assembleTbsCertificate(fields: TbsFields): Uint8Array {
  // Written directly rather than through the ASN.1 schema library: the CA assembles one per
  // issuance, and the library's object model cost more than the rest of the builder.
  const parts: Uint8Array[] = [];
  // The version is written out because DER omits a DEFAULT value, and v1 is the default.
  if (fields.version !== 1) parts.push(derTlv(0xa0, derInteger(BigInt(fields.version - 1))));
  parts.push(
    derInteger(fields.serialNumber),
    fields.signatureAlgorithm ?? SM2_WITH_SM3_ALGORITHM,
    fields.issuer,
    derTlv(TAG_SEQUENCE, derTime(fields.notBefore), derTime(fields.notAfter)),
    fields.subject,
    fields.spki,
  );
  if (fields.version === 3 && fields.extensions.length > 0) {
    parts.push(derTlv(0xa3, derTlv(TAG_SEQUENCE, ...fields.extensions.map(derExtension))));
  }
  return new Uint8Array(derTlv(TAG_SEQUENCE, ...parts));
}

/** RFC 5280 Time to the whole second (fractions dropped, never rounded up). */
function derTime(date: Date): Uint8Array {
  const seconds = toAsnTime(date);
  const at = seconds.utcTime ?? seconds.generalTime!;
  const out = new Uint8Array(derTimeLength(at));
  writeDerTime(out, 0, at);
  return out;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function derExtension(extension: CertificateExtension): Uint8Array {
  return derTlv(
    TAG_SEQUENCE,
    derOid(extension.oid),
    ...(extension.critical ? [DER_TRUE] : []),
    derTlv(TAG_OCTET_STRING, extension.value),
  );
}

const TAG_OCTET_STRING = 0x04;
const DER_TRUE = Uint8Array.of(0x01, 0x01, 0xff);

function profileExtensions(
  profile: CertificateProfile,
  input: TbsInput,
  ski: Uint8Array,
  aki: Uint8Array,
): CertificateExtension[] {
  const out: CertificateExtension[] = [];
  if (profile.ca) out.push(basicConstraintsExtension(true, profile.pathLen));
  const { keyUsage, extendedKeyUsage } = profile;
  out.push(shared(`ku ${keyUsage}`, () => keyUsageExtension(keyUsage)));
  if (extendedKeyUsage)
    out.push(shared(`eku ${extendedKeyUsage}`, () => extendedKeyUsageExtension(extendedKeyUsage)));
  out.push(
    subjectKeyIdentifierExtension(ski),
    shared(`aki ${Buffer.from(aki).toString('hex')}`, () => authorityKeyIdentifierExtension(aki)),
  );
  const { crlDistributionPoints: crl, ocspUrls = [], caIssuersUrls = [], policies } = input;
  if (crl?.length) out.push(shared(`crl ${JSON.stringify(crl)}`, () => crlDistributionPointsExtension(crl)));
  if (ocspUrls.length || caIssuersUrls.length) {
    out.push(
      shared(`aia ${JSON.stringify([ocspUrls, caIssuersUrls])}`, () =>
        authorityInfoAccessExtension(ocspUrls, caIssuersUrls),
      ),
    );
  }
  if (policies?.length) out.push(certificatePoliciesExtension(policies));
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

/**
 * Extensions every certificate of a profile and issuer carries byte for byte, encoded once:
 * through the schema serializer they cost more than the rest of the TBS. Bounded by clearing,
 * as the keys are a handful per issuer and profile.
 */
const sharedExtensions = new Map<string, CertificateExtension>();

function shared(key: string, build: () => CertificateExtension): CertificateExtension {
  let extension = sharedExtensions.get(key);
  if (!extension) {
    extension = build();
    if (sharedExtensions.size >= 1024) sharedExtensions.clear();
    sharedExtensions.set(key, extension);
  }
  return extension;
}

/** The key's 04‖X‖Y and its GM/T 0015 SPKI, whichever form it came in. */
function toPublicKey(key: Uint8Array): { publicKey: Uint8Array; spki: Uint8Array } {
  try {
    // encodeSm2Spki refuses a point off the curve, so its own output needs no decoding back.
    if (key.length === 65 && key[0] === 0x04)
      return { publicKey: new Uint8Array(key), spki: encodeSm2Spki(key) };
    const publicKey = decodeSm2Spki(key);
    return { publicKey, spki: encodeSm2Spki(publicKey) };
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

// Every certificate an issuer signs carries the same AKI: decode it once per parsed issuer.
const issuerKeyIds = new WeakMap<ParsedCertificate, Uint8Array>();

function issuerKeyId(issuer: ParsedCertificate): Uint8Array {
  let id = issuerKeyIds.get(issuer);
  if (!id) {
    const ski = findExtension(issuer, OIDS.subjectKeyIdentifier);
    id = ski ? decodeSubjectKeyIdentifier(ski.value) : keyIdentifier(toPublicKey(issuer.spki).publicKey);
    issuerKeyIds.set(issuer, id);
  }
  return id;
}
