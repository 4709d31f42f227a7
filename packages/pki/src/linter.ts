import { bytesEqual, decodeSm2Signature, decodeSm2Spki, GmError, verifySm2 } from '@sm2ca/gm';
import {
  type AlgorithmInfo,
  type CertificateExtension,
  findExtension,
  type ParsedCertificate,
  type ParsedTbsCertificate,
  parseCertificate,
  parseTbsCertificate,
} from './certificate.ts';
import {
  decodeAuthorityKeyIdentifier,
  decodeBasicConstraints,
  decodeExtendedKeyUsage,
  decodeKeyUsage,
  decodeKnownExtension,
  decodeSubjectKeyIdentifier,
  type KeyUsageName,
} from './extensions.ts';
import { decodeIdentityExtensions, isIdentityExtension } from './identity-extensions.ts';
import { keyIdentifier } from './key-identifier.ts';
import { type DecodedDnAttribute, decodeName } from './name.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';
import { allowedExtensions, type CertificateProfile, getProfile, type ProfileId } from './profiles.ts';
import type { Verifier } from './signer.ts';
import { sm2Verifier } from './sm2-verifier.ts';

export interface LintFinding {
  code: string;
  severity: 'error' | 'warning';
  message: string;
}

export interface LintOptions {
  /** The profile the certificate claims to follow; without it only profile-independent rules run. */
  profile?: ProfileId | CertificateProfile;
  /** The issuing CA certificate (DER or parsed): enables name, AKI and signature checks. */
  issuer?: ParsedCertificate | Uint8Array;
}

export interface CertificateLintOptions extends LintOptions {
  /** Checks the signature; the public-key-only SM2 verifier when absent. */
  verifier?: Verifier;
}

const SIGN_BITS: KeyUsageName[] = ['digitalSignature', 'nonRepudiation'];
const ENCRYPT_BITS: KeyUsageName[] = ['keyEncipherment', 'dataEncipherment', 'keyAgreement'];
const KNOWN_EXTENSIONS = new Set<string>([
  OIDS.subjectKeyIdentifier,
  OIDS.keyUsage,
  OIDS.subjectAltName,
  OIDS.basicConstraints,
  OIDS.cRLDistributionPoints,
  OIDS.certificatePolicies,
  OIDS.authorityKeyIdentifier,
  OIDS.extendedKeyUsage,
  OIDS.authorityInfoAccess,
  OIDS.ocspNoCheck,
]);
const PRINTABLE_ONLY = new Set<string>([OIDS.countryName, OIDS.serialNumber]);
const DAY_MS = 86_400_000;

/** Lints a TBSCertificate (DER or parsed) — what the CA runs before every signature. */
export function lintTbs(tbs: Uint8Array | ParsedTbsCertificate, options: LintOptions = {}): LintFinding[] {
  const findings: LintFinding[] = [];
  let parsed: ParsedTbsCertificate;
  try {
    parsed = tbs instanceof Uint8Array ? parseTbsCertificate(tbs) : tbs;
  } catch (err) {
    return [error('TBS_MALFORMED', (err as Error).message)];
  }
  const issuer = options.issuer instanceof Uint8Array ? parseCertificate(options.issuer) : options.issuer;
  const profile = options.profile === undefined ? undefined : getProfile(options.profile);
  new TbsLinter(parsed, findings, profile, issuer).run();
  return findings;
}

/**
 * Lints a whole certificate: everything `lintTbs` checks plus algorithm consistency and the
 * signature under the GM default ID (against `issuer`, or the certificate itself when self-issued).
 */
export async function lintCertificate(
  certDer: Uint8Array,
  options: CertificateLintOptions = {},
): Promise<LintFinding[]> {
  let cert: ParsedCertificate;
  let issuer: ParsedCertificate | undefined;
  try {
    cert = parseCertificate(certDer);
  } catch (err) {
    return [error('CERT_MALFORMED', (err as Error).message)];
  }
  try {
    issuer = options.issuer instanceof Uint8Array ? parseCertificate(options.issuer) : options.issuer;
  } catch (err) {
    return [error('ISSUER_MALFORMED', `issuer certificate: ${(err as Error).message}`)];
  }
  const findings = lintTbs(cert, { ...options, issuer });
  if (!algorithmsEqual(cert.tbsSignatureAlgorithm, cert.signatureAlgorithm)) {
    findings.push(error('ALGORITHM_MISMATCH', 'signatureAlgorithm differs from tbsCertificate.signature'));
  }
  findings.push(...(await lintSignature(cert, issuer, options.verifier ?? sm2Verifier)));
  return findings;
}

async function lintSignature(
  cert: ParsedCertificate,
  issuer: ParsedCertificate | undefined,
  verifier: Verifier,
): Promise<LintFinding[]> {
  const signerSpki = issuer?.spki ?? (bytesEqual(cert.issuer, cert.subject) ? cert.spki : undefined);
  if (!signerSpki || cert.signatureAlgorithm.oid !== OIDS.sm2WithSm3) return [];
  try {
    decodeSm2Signature(cert.signature);
  } catch {
    return [error('SIGNATURE_MALFORMED', 'signatureValue is not a DER SM2 signature')];
  }
  if (await verifier.verify(signerSpki, cert.tbs, cert.signature)) return [];
  let emptyId = false;
  try {
    emptyId = verifySm2(signerSpki, cert.tbs, cert.signature, new Uint8Array());
  } catch (err) {
    if (!(err instanceof GmError)) throw err;
  }
  return emptyId
    ? [
        error(
          'SIGNATURE_EMPTY_SIGNER_ID',
          'signed under the empty signer ID (OpenSSL default), not 1234567812345678',
        ),
      ]
    : [error('SIGNATURE_INVALID', 'signature does not verify under the issuer key with the GM default ID')];
}

class TbsLinter {
  private readonly isCa: boolean;
  private readonly selfIssued: boolean;
  private publicKey: Uint8Array | undefined;

  constructor(
    private readonly tbs: ParsedTbsCertificate,
    private readonly findings: LintFinding[],
    private readonly profile: CertificateProfile | undefined,
    private readonly issuer: ParsedCertificate | undefined,
  ) {
    this.isCa = profile?.ca ?? this.basicConstraints()?.ca ?? false;
    this.selfIssued = bytesEqual(tbs.issuer, tbs.subject);
  }

  run(): void {
    this.version();
    this.serial();
    this.algorithm();
    this.validity();
    this.publicKeyInfo();
    this.extensionSet();
    this.basicConstraintsRules();
    this.keyUsageRules();
    this.extendedKeyUsageRules();
    this.keyIdentifiers();
    this.issuerRules();
    this.subjectName();
    this.identity();
  }

  private add(severity: LintFinding['severity'], code: string, message: string): void {
    this.findings.push({ code, severity, message });
  }

  private ext(oid: string): CertificateExtension | undefined {
    return findExtension(this.tbs, oid);
  }

  /** Decodes an extension, reporting (not throwing) a malformed value. */
  private decoded<T>(oid: string, decode: (v: Uint8Array) => T): T | undefined {
    const ext = this.ext(oid);
    if (!ext) return undefined;
    try {
      return decode(ext.value);
    } catch (err) {
      if (!(err instanceof PkiError)) throw err;
      return undefined;
    }
  }

  private basicConstraints() {
    return this.decoded(OIDS.basicConstraints, decodeBasicConstraints);
  }

  private version(): void {
    if (this.tbs.version !== 3)
      this.add('error', 'VERSION_NOT_V3', `version is v${this.tbs.version}, must be v3`);
  }

  private serial(): void {
    const s = this.tbs.serialNumber;
    const first = s[0] ?? 0;
    if (first & 0x80) {
      this.add('error', 'SERIAL_NOT_POSITIVE', 'serialNumber is negative');
      return;
    }
    if (s.every((b) => b === 0)) {
      this.add('error', 'SERIAL_NOT_POSITIVE', 'serialNumber is zero');
      return;
    }
    if (s.length > 1 && first === 0 && ((s[1] ?? 0) & 0x80) === 0) {
      this.add('error', 'SERIAL_NOT_MINIMAL', 'serialNumber INTEGER has a superfluous leading zero');
    }
    if (s.length > 20) this.add('error', 'SERIAL_TOO_LONG', `serialNumber is ${s.length} octets, at most 20`);
    if (s.length < 8) {
      this.add(
        'error',
        'SERIAL_TOO_SHORT',
        `serialNumber is ${s.length} octets; needs at least 64 random bits`,
      );
    }
  }

  private algorithm(): void {
    const { oid, parameters } = this.tbs.tbsSignatureAlgorithm;
    if (oid !== OIDS.sm2WithSm3) {
      this.add('error', 'ALGORITHM_NOT_SM2_WITH_SM3', `signature algorithm ${oid} is not SM2-with-SM3`);
      return;
    }
    if (parameters && isNull(parameters)) {
      this.add('warning', 'ALGORITHM_NULL_PARAMETERS', 'SM2-with-SM3 parameters should be absent, not NULL');
    } else if (parameters) {
      this.add('error', 'ALGORITHM_PARAMETERS', 'SM2-with-SM3 must not carry parameters');
    }
  }

  private validity(): void {
    const { notBefore, notAfter, notBeforeType, notAfterType } = this.tbs;
    for (const [label, date, type] of [
      ['notBefore', notBefore, notBeforeType],
      ['notAfter', notAfter, notAfterType],
    ] as const) {
      const want = date.getUTCFullYear() < 2050 ? 'utcTime' : 'generalTime';
      if (type !== want)
        this.add('error', 'VALIDITY_ENCODING', `${label} must be ${want} for year ${date.getUTCFullYear()}`);
    }
    if (notAfter < notBefore) this.add('error', 'VALIDITY_INVERTED', 'notAfter is before notBefore');
    const days = (notAfter.getTime() - notBefore.getTime()) / DAY_MS;
    if (this.profile && days > this.profile.maxValidityDays) {
      this.add(
        'error',
        'VALIDITY_TOO_LONG',
        `${Math.ceil(days)} days exceeds ${this.profile.maxValidityDays}`,
      );
    }
    if (this.issuer && (notAfter > this.issuer.notAfter || notBefore < this.issuer.notBefore)) {
      this.add(
        'warning',
        'VALIDITY_BEYOND_ISSUER',
        'validity extends beyond the issuer certificate validity',
      );
    }
  }

  private publicKeyInfo(): void {
    try {
      this.publicKey = decodeSm2Spki(this.tbs.spki);
    } catch (err) {
      if (!(err instanceof GmError)) throw err;
      this.add('error', 'SPKI_NOT_SM2', `subject public key is not an SM2 key (${err.code}: ${err.message})`);
    }
    if (this.tbs.hasUniqueIds)
      this.add('warning', 'UNIQUE_IDENTIFIERS', 'issuer/subjectUniqueID should not be used');
  }

  private extensionSet(): void {
    const seen = new Set<string>();
    for (const ext of this.tbs.extensions) {
      if (seen.has(ext.oid)) this.add('error', 'EXTENSION_DUPLICATE', `extension ${ext.oid} appears twice`);
      seen.add(ext.oid);
      try {
        decodeKnownExtension(ext);
      } catch (err) {
        if (!(err instanceof PkiError)) throw err;
        this.add('error', 'EXTENSION_MALFORMED', err.message);
      }
      if (ext.critical && !KNOWN_EXTENSIONS.has(ext.oid) && !isIdentityExtension(ext.oid)) {
        this.add('error', 'EXTENSION_UNKNOWN_CRITICAL', `unknown critical extension ${ext.oid}`);
      }
    }
    if (!this.profile) return;
    for (const oid of this.profile.requiredExtensions) {
      if (!seen.has(oid))
        this.add('error', 'EXTENSION_MISSING', `${this.profile.id} requires extension ${oid}`);
    }
    const allowed = allowedExtensions(this.profile);
    for (const oid of seen) {
      if (!allowed.has(oid))
        this.add('error', 'EXTENSION_NOT_ALLOWED', `${this.profile.id} does not allow ${oid}`);
    }
  }

  private basicConstraintsRules(): void {
    const ext = this.ext(OIDS.basicConstraints);
    const bc = this.basicConstraints();
    if (this.isCa && !ext) {
      this.add('error', 'BASIC_CONSTRAINTS_MISSING', 'CA certificate without basicConstraints');
      return;
    }
    if (!ext || !bc) return;
    if (bc.ca && !ext.critical)
      this.add('error', 'BASIC_CONSTRAINTS_NOT_CRITICAL', 'basicConstraints must be critical in a CA');
    if (this.profile?.ca && !bc.ca)
      this.add('error', 'BASIC_CONSTRAINTS_NOT_CA', `${this.profile.id} needs cA TRUE`);
    if (this.profile && !this.profile.ca && bc.ca) {
      this.add('error', 'END_ENTITY_IS_CA', 'end-entity certificate asserts cA TRUE');
    }
    if (this.profile?.pathLen !== undefined && bc.pathLen !== this.profile.pathLen) {
      this.add(
        'error',
        'BASIC_CONSTRAINTS_PATHLEN',
        `${this.profile.id} needs pathLenConstraint ${this.profile.pathLen}`,
      );
    }
    if (!bc.ca && bc.pathLen !== undefined)
      this.add('error', 'BASIC_CONSTRAINTS_PATHLEN', 'pathLen without cA');
  }

  private keyUsageRules(): void {
    const ext = this.ext(OIDS.keyUsage);
    if (!ext) {
      this.add('error', 'KEY_USAGE_MISSING', 'keyUsage extension is required');
      return;
    }
    if (!ext.critical) this.add('error', 'KEY_USAGE_NOT_CRITICAL', 'keyUsage must be critical');
    const usages = this.decoded(OIDS.keyUsage, decodeKeyUsage);
    if (!usages) return;
    const has = (u: KeyUsageName) => usages.has(u);
    if (!this.isCa && (has('keyCertSign') || has('cRLSign'))) {
      this.add('error', 'END_ENTITY_CA_USAGE', 'keyCertSign/cRLSign in a certificate that is not a CA');
    }
    if (this.isCa && !has('keyCertSign'))
      this.add('error', 'CA_WITHOUT_KEY_CERT_SIGN', 'CA without keyCertSign');
    if (SIGN_BITS.some(has) && ENCRYPT_BITS.some(has)) {
      this.add(
        'error',
        'KEY_USAGE_MIXED',
        'signature and encipherment usages in one certificate (GM dual certificates)',
      );
    }
    if (this.profile) {
      const want = new Set(this.profile.keyUsage);
      if (want.size !== usages.size || [...want].some((u) => !usages.has(u))) {
        this.add('error', 'KEY_USAGE_PROFILE', `${this.profile.id} needs keyUsage ${[...want].join(', ')}`);
      }
    }
  }

  private extendedKeyUsageRules(): void {
    const want = this.profile?.extendedKeyUsage;
    if (!want) return;
    const have = this.decoded(OIDS.extendedKeyUsage, decodeExtendedKeyUsage) ?? [];
    if (have.length !== want.length || want.some((p) => !have.includes(p))) {
      this.add(
        'error',
        'EXTENDED_KEY_USAGE_PROFILE',
        `${this.profile?.id} needs extendedKeyUsage ${want.join(', ')}`,
      );
    }
  }

  private keyIdentifiers(): void {
    const ski = this.decoded(OIDS.subjectKeyIdentifier, decodeSubjectKeyIdentifier);
    if (!this.ext(OIDS.subjectKeyIdentifier))
      this.add('error', 'SKI_MISSING', 'subjectKeyIdentifier is required');
    if (ski && this.publicKey && !bytesEqual(ski, keyIdentifier(this.publicKey))) {
      // RFC 5280 allows other methods; our profiles fix method 1.
      this.add(
        this.profile ? 'error' : 'warning',
        'SKI_NOT_METHOD_1',
        'subjectKeyIdentifier is not the SHA-1 of the public key (RFC 5280 method 1)',
      );
    }
    const akiExt = this.ext(OIDS.authorityKeyIdentifier);
    if (!akiExt) {
      if (this.selfIssued) this.add('warning', 'AKI_MISSING', 'authorityKeyIdentifier is recommended');
      else this.add('error', 'AKI_MISSING', 'authorityKeyIdentifier is required');
      return;
    }
    if (akiExt.critical) this.add('error', 'AKI_CRITICAL', 'authorityKeyIdentifier must not be critical');
    const aki = this.decoded(OIDS.authorityKeyIdentifier, decodeAuthorityKeyIdentifier);
    if (!aki) {
      if (this.ext(OIDS.authorityKeyIdentifier))
        this.add('error', 'AKI_NO_KEY_ID', 'authorityKeyIdentifier lacks keyIdentifier');
      return;
    }
    const expected = this.issuer ? issuerFacts(this.issuer).keyId : this.selfIssued ? ski : undefined;
    if (expected && !bytesEqual(aki, expected)) {
      this.add(
        'error',
        'AKI_MISMATCH',
        'authorityKeyIdentifier does not match the issuer subjectKeyIdentifier',
      );
    }
  }

  private issuerRules(): void {
    const issuer = this.issuer;
    if (!issuer) return;
    if (!bytesEqual(this.tbs.issuer, issuer.subject)) {
      this.add(
        'error',
        'ISSUER_NAME_MISMATCH',
        'issuer is not byte-identical to the issuer certificate subject',
      );
    }
    const { bc, ku } = issuerFacts(issuer);
    if (!bc?.ca) this.add('error', 'ISSUER_NOT_CA', 'issuer certificate is not a CA');
    if (this.isCa && !this.selfIssued && bc?.pathLen === 0) {
      this.add('error', 'ISSUER_PATH_LENGTH', 'issuer pathLenConstraint 0 forbids issuing CA certificates');
    }
    if (ku && !ku.has('keyCertSign'))
      this.add('error', 'ISSUER_NO_KEY_CERT_SIGN', 'issuer key may not sign certificates');
  }

  private subjectName(): void {
    let attributes: DecodedDnAttribute[];
    try {
      attributes = decodeName(this.tbs.subject);
    } catch (err) {
      if (!(err instanceof PkiError)) throw err;
      this.add('error', 'DN_MALFORMED', err.message);
      return;
    }
    if (attributes.length === 0) {
      this.add('error', 'DN_EMPTY', 'subject is empty');
      return;
    }
    for (const a of attributes) {
      if (PRINTABLE_ONLY.has(a.oid)) {
        if (a.stringType !== 'printableString') {
          this.add('error', 'DN_STRING_TYPE', `${a.type} must be PrintableString, is ${a.stringType}`);
        }
      } else if (a.stringType === 'printableString') {
        this.add('warning', 'DN_STRING_TYPE', `${a.type} should be UTF8String`);
      } else if (
        a.stringType !== 'utf8String' &&
        !(a.oid === OIDS.emailAddress && a.stringType === 'ia5String')
      ) {
        this.add('error', 'DN_STRING_TYPE', `${a.type} must be UTF8String, is ${a.stringType}`);
      }
      if (a.oid === OIDS.countryName && !/^[A-Z]{2}$/.test(a.value)) {
        this.add('error', 'DN_COUNTRY', 'C must be a two-letter ISO 3166 code');
      }
    }
    if (!this.profile) return;
    const types = new Set(attributes.map((a) => a.type));
    for (const t of this.profile.subject.required) {
      if (!types.has(t)) this.add('error', 'DN_PROFILE', `${this.profile.id} subject needs ${t}`);
    }
    for (const t of types) {
      if (!(this.profile.subject.allowed as readonly string[]).includes(t)) {
        this.add('error', 'DN_PROFILE', `${this.profile.id} subject may not contain ${t}`);
      }
    }
  }

  private identity(): void {
    try {
      decodeIdentityExtensions(this.tbs.extensions);
    } catch (err) {
      if (!(err instanceof PkiError)) throw err;
      this.add('error', 'IDENTITY_EXTENSION_MALFORMED', err.message);
    }
  }
}

interface IssuerFacts {
  bc: ReturnType<typeof decodeBasicConstraints> | undefined;
  ku: ReturnType<typeof decodeKeyUsage> | undefined;
  keyId: Uint8Array | undefined;
}

// A CA lints every certificate against the same few issuers: decode each issuer once.
const issuerFactsOf = new WeakMap<ParsedCertificate, IssuerFacts>();

function issuerFacts(issuer: ParsedCertificate): IssuerFacts {
  let facts = issuerFactsOf.get(issuer);
  if (!facts) {
    const bcExt = findExtension(issuer, OIDS.basicConstraints);
    const kuExt = findExtension(issuer, OIDS.keyUsage);
    const skiExt = findExtension(issuer, OIDS.subjectKeyIdentifier);
    facts = {
      bc: bcExt ? safe(() => decodeBasicConstraints(bcExt.value)) : undefined,
      ku: kuExt ? safe(() => decodeKeyUsage(kuExt.value)) : undefined,
      keyId: skiExt
        ? safe(() => decodeSubjectKeyIdentifier(skiExt.value))
        : safe(() => keyIdentifier(decodeSm2Spki(issuer.spki))),
    };
    issuerFactsOf.set(issuer, facts);
  }
  return facts;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PkiError || err instanceof GmError) return undefined;
    throw err;
  }
}

function isNull(bytes: Uint8Array): boolean {
  return bytes.length === 2 && bytes[0] === 0x05 && bytes[1] === 0x00;
}

function algorithmsEqual(a: AlgorithmInfo, b: AlgorithmInfo): boolean {
  if (a.oid !== b.oid) return false;
  if (!a.parameters || !b.parameters) return a.parameters === b.parameters;
  return bytesEqual(a.parameters, b.parameters);
}

function error(code: string, message: string): LintFinding {
  return { code, severity: 'error', message };
}
