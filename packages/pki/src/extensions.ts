import { AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CertificatePolicies,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  PolicyInformation,
  PolicyQualifierInfo,
  Qualifier,
  SubjectAlternativeName,
} from '@peculiar/asn1-x509';
import { parseDer } from '@sm2ca/gm';
import type { CertificateExtension } from './certificate.ts';
import { contentOf, readTlv } from './crl-der-reader.ts';
import { malformed } from './malformed.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';

export type KeyUsageName = keyof typeof KeyUsageFlags;

const KEY_USAGE_NAMES = Object.keys(KeyUsageFlags).filter((k) => Number.isNaN(Number(k))) as KeyUsageName[];
const CPS_QUALIFIER = '1.3.6.1.5.5.7.2.1';

function extension(oid: string, critical: boolean, value: object): CertificateExtension {
  return { oid, critical, value: new Uint8Array(AsnSerializer.serialize(value)) };
}

/** keyUsage, critical in every certificate (GM/T 0015 practice). */
export function keyUsageExtension(usages: readonly KeyUsageName[]): CertificateExtension {
  const flags = usages.reduce((acc, u) => acc | KeyUsageFlags[u], 0);
  return extension(OIDS.keyUsage, true, new KeyUsage(flags));
}

export function basicConstraintsExtension(ca: boolean, pathLen?: number): CertificateExtension {
  const value = new BasicConstraints(ca ? { cA: true, pathLenConstraint: pathLen } : {});
  return extension(OIDS.basicConstraints, ca, value);
}

export function subjectKeyIdentifierExtension(keyId: Uint8Array): CertificateExtension {
  return extension(OIDS.subjectKeyIdentifier, false, new OctetString(keyId));
}

export function authorityKeyIdentifierExtension(keyId: Uint8Array): CertificateExtension {
  return extension(
    OIDS.authorityKeyIdentifier,
    false,
    new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) }),
  );
}

export interface PolicySpec {
  oid: string;
  cpsUri?: string;
}

export function certificatePoliciesExtension(policies: readonly PolicySpec[]): CertificateExtension {
  const items = policies.map(
    ({ oid, cpsUri }) =>
      new PolicyInformation({
        policyIdentifier: oid,
        policyQualifiers: cpsUri
          ? [
              new PolicyQualifierInfo({
                policyQualifierId: CPS_QUALIFIER,
                qualifier: AsnSerializer.serialize(new Qualifier({ cPSuri: cpsUri })),
              }),
            ]
          : undefined,
      }),
  );
  return extension(OIDS.certificatePolicies, false, new CertificatePolicies(items));
}

/** One distribution point whose names are `uris`: places (HTTP, LDAP) of the same CRL. */
export function crlDistributionPointsExtension(uris: readonly string[]): CertificateExtension {
  const point = new DistributionPoint({
    distributionPoint: new DistributionPointName({
      fullName: uris.map((uri) => new GeneralName({ uniformResourceIdentifier: uri })),
    }),
  });
  return extension(OIDS.cRLDistributionPoints, false, new CRLDistributionPoints([point]));
}

export function authorityInfoAccessExtension(
  ocsp: readonly string[],
  caIssuers: readonly string[],
): CertificateExtension {
  const describe = (method: string) => (uri: string) =>
    new AccessDescription({
      accessMethod: method,
      accessLocation: new GeneralName({ uniformResourceIdentifier: uri }),
    });
  const items = [...ocsp.map(describe(OIDS.accessOcsp)), ...caIssuers.map(describe(OIDS.accessCaIssuers))];
  return extension(OIDS.authorityInfoAccess, false, new AuthorityInfoAccessSyntax(items));
}

export function extendedKeyUsageExtension(purposes: readonly string[]): CertificateExtension {
  return extension(OIDS.extendedKeyUsage, false, new ExtendedKeyUsage([...purposes]));
}

export interface SubjectAltNames {
  dns?: string[];
  ip?: string[];
  email?: string[];
  uri?: string[];
}

export function subjectAltNameExtension(names: SubjectAltNames): CertificateExtension {
  const items = [
    ...(names.dns ?? []).map((dNSName) => new GeneralName({ dNSName })),
    ...(names.ip ?? []).map((iPAddress) => new GeneralName({ iPAddress })),
    ...(names.email ?? []).map((rfc822Name) => new GeneralName({ rfc822Name })),
    ...(names.uri ?? []).map((uniformResourceIdentifier) => new GeneralName({ uniformResourceIdentifier })),
  ];
  return extension(OIDS.subjectAltName, false, new SubjectAlternativeName(items));
}

/** id-pkix-ocsp-nocheck: value NULL (RFC 6960 4.2.2.2.1). */
export function ocspNoCheckExtension(): CertificateExtension {
  return { oid: OIDS.ocspNoCheck, critical: false, value: Uint8Array.of(0x05, 0x00) };
}

// Decoders: each throws PkiError(EXTENSION_MALFORMED) when the value is not what the OID says.

// A CA's certificates carry a handful of keyUsage values: each decoded once.
const keyUsageFlags = new Map<string, number>();

export function decodeKeyUsage(value: Uint8Array): Set<KeyUsageName> {
  const key = Buffer.from(value).toString('hex');
  let flags = keyUsageFlags.get(key);
  if (flags === undefined) {
    flags = malformed('EXTENSION_MALFORMED', 'keyUsage', () => parseDer(value, KeyUsage).toNumber());
    if (keyUsageFlags.size >= 256) keyUsageFlags.clear();
    keyUsageFlags.set(key, flags);
  }
  const set = flags;
  return new Set(KEY_USAGE_NAMES.filter((name) => set & KeyUsageFlags[name]));
}

/**
 * The content of `value` when it is exactly one primitive element tagged `tag`, read with the
 * strict DER reader; undefined otherwise, for the schema decoder to read or refuse.
 */
function plainContent(value: Uint8Array, tag: number): Uint8Array | undefined {
  try {
    const tlv = readTlv(value, 0, value.length);
    return tlv.tag === tag && tlv.end === value.length ? contentOf(value, tlv) : undefined;
  } catch {
    return undefined;
  }
}

export function decodeBasicConstraints(value: Uint8Array): { ca: boolean; pathLen?: number } {
  const bc = malformed('EXTENSION_MALFORMED', 'basicConstraints', () => parseDer(value, BasicConstraints));
  return bc.pathLenConstraint === undefined ? { ca: bc.cA } : { ca: bc.cA, pathLen: bc.pathLenConstraint };
}

export function decodeSubjectKeyIdentifier(value: Uint8Array): Uint8Array {
  const plain = plainContent(value, 0x04);
  if (plain) return plain.slice();
  return malformed(
    'EXTENSION_MALFORMED',
    'subjectKeyIdentifier',
    () => new Uint8Array(parseDer(value, OctetString).buffer),
  );
}

/** The keyIdentifier of an AKI, undefined when the AKI names the issuer by name and serial only. */
export function decodeAuthorityKeyIdentifier(value: Uint8Array): Uint8Array | undefined {
  // The form every CA certificate here carries: SEQUENCE { [0] keyIdentifier } and nothing else.
  const sequence = plainContent(value, 0x30);
  const keyId = sequence && plainContent(sequence, 0x80);
  if (keyId) return keyId.slice();
  const aki = malformed('EXTENSION_MALFORMED', 'authorityKeyIdentifier', () =>
    parseDer(value, AuthorityKeyIdentifier),
  );
  return aki.keyIdentifier ? new Uint8Array(aki.keyIdentifier.buffer) : undefined;
}

export function decodeExtendedKeyUsage(value: Uint8Array): string[] {
  return malformed('EXTENSION_MALFORMED', 'extendedKeyUsage', () => [...parseDer(value, ExtendedKeyUsage)]);
}

const decoders: Record<string, (v: Uint8Array) => unknown> = {
  [OIDS.keyUsage]: decodeKeyUsage,
  [OIDS.basicConstraints]: decodeBasicConstraints,
  [OIDS.subjectKeyIdentifier]: decodeSubjectKeyIdentifier,
  [OIDS.authorityKeyIdentifier]: decodeAuthorityKeyIdentifier,
  [OIDS.extendedKeyUsage]: decodeExtendedKeyUsage,
  [OIDS.certificatePolicies]: (v) => parseDer(v, CertificatePolicies),
  [OIDS.cRLDistributionPoints]: (v) => parseDer(v, CRLDistributionPoints),
  [OIDS.authorityInfoAccess]: (v) => parseDer(v, AuthorityInfoAccessSyntax),
  [OIDS.subjectAltName]: (v) => parseDer(v, SubjectAlternativeName),
};

/**
 * Extension values already seen to decode. A CA's certificates repeat nearly all their
 * extensions byte for byte (usages, AKI, CRL and OCSP locations), and decoding each again
 * through the schema library was most of what linting a planned certificate cost. Bounded,
 * so that values that differ per certificate (SKI, names) cannot grow it without end.
 */
const decodedValues = new Set<string>();
const decodedValuesLimit = 4096;

/** Checks that a known extension's value decodes; unknown OIDs pass. */
export function decodeKnownExtension(ext: CertificateExtension): void {
  const decode = decoders[ext.oid];
  if (decode) {
    const key = `${ext.oid} ${Buffer.from(ext.value).toString('base64')}`;
    if (!decodedValues.has(key)) {
      malformed('EXTENSION_MALFORMED', `extension ${ext.oid}`, () => decode(ext.value));
      if (decodedValues.size >= decodedValuesLimit) decodedValues.clear();
      decodedValues.add(key);
    }
  }
  if (ext.oid === OIDS.ocspNoCheck && !(ext.value.length === 2 && ext.value[0] === 5 && ext.value[1] === 0)) {
    throw new PkiError('EXTENSION_MALFORMED', 'ocsp-nocheck value must be NULL');
  }
}
