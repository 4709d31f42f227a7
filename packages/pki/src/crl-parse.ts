import { AsnParser } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  Extensions,
  IssuingDistributionPoint,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_deltaCRLIndicator,
  id_ce_issuingDistributionPoint,
} from '@peculiar/asn1-x509';
import { malformed } from './certificate.ts';
import type { IssuingDistributionPointOptions } from './crl-builder.ts';
import {
  childrenOf,
  contentOf,
  expectTag,
  readTime,
  readTlv,
  readUnsignedInteger,
  type Tlv,
} from './crl-der-reader.ts';
import { OID_SM2_WITH_SM3 } from './crl-ocsp-algorithms.ts';
import { type CrlReason, isCrlReason } from './crl-reason.ts';
import type { Verifier } from './signer.ts';

export interface CrlExtension {
  oid: string;
  critical: boolean;
  /** Contents of extnValue (the DER of the extension's own value). */
  value: Buffer;
}

export interface ParsedCrlEntry {
  serial: bigint;
  revocationDate: Date;
  reason?: CrlReason;
  invalidityDate?: Date;
}

export interface ParsedCrl {
  der: Buffer;
  /** The signed bytes exactly as received. */
  tbsCertList: Buffer;
  /** OID of the outer signatureAlgorithm. */
  signatureAlgorithm: string;
  /** OID of tbsCertList.signature; must equal the outer one. */
  tbsSignatureAlgorithm: string;
  /** DER SEQUENCE { r, s } from the signature BIT STRING. */
  signature: Buffer;
  /** 2 for v2 CRLs, 1 when version is absent. */
  version: number;
  /** DER Name, as received. */
  issuer: Buffer;
  thisUpdate: Date;
  nextUpdate?: Date;
  extensions: CrlExtension[];
  authorityKeyIdentifier?: Buffer;
  crlNumber?: bigint;
  /** Present on delta CRLs: the number of the base CRL. */
  baseCrlNumber?: bigint;
  issuingDistributionPoint?: IssuingDistributionPointOptions;
  entryCount: number;
  /** Decodes entries one at a time; throws PkiError(CRL_MALFORMED) on a bad entry. */
  entries(): Generator<ParsedCrlEntry>;
}

const MALFORMED = 'CRL_MALFORMED';
const TAG_SEQUENCE = 0x30;
// DER of the OIDs 2.5.29.21 (reasonCode) and 2.5.29.24 (invalidityDate) without tag and length.
const OID_REASON_CODE = Buffer.from('551d15', 'hex');
const OID_INVALIDITY_DATE = Buffer.from('551d18', 'hex');

/**
 * Parses a DER CertificateList. The header and extensions are decoded now; the entries are only
 * framed (to count them and reject broken framing) and decoded lazily by `entries()`.
 */
export function parseCrl(der: Uint8Array): ParsedCrl {
  return malformed(MALFORMED, 'CRL', () => parse(Buffer.from(der.buffer, der.byteOffset, der.byteLength)));
}

/** Checks the signature over the received tbsCertList bytes with the issuer's SubjectPublicKeyInfo. */
export async function verifyCrlSignature(
  crl: ParsedCrl,
  issuerSpki: Uint8Array,
  verifier: Verifier,
): Promise<boolean> {
  if (crl.signatureAlgorithm !== OID_SM2_WITH_SM3 || crl.tbsSignatureAlgorithm !== OID_SM2_WITH_SM3)
    return false;
  return verifier.verify(issuerSpki, crl.tbsCertList, crl.signature);
}

function parse(der: Buffer): ParsedCrl {
  const outer = expectTag(readTlv(der, 0, der.length), TAG_SEQUENCE, 'CertificateList');
  if (outer.end !== der.length) throw new Error('trailing bytes after the CRL');
  const [tbsTlv, algTlv, sigTlv, ...rest] = childrenOf(der, outer);
  if (!tbsTlv || !algTlv || !sigTlv || rest.length > 0)
    throw new Error('CertificateList needs three elements');
  expectTag(tbsTlv, TAG_SEQUENCE, 'tbsCertList');
  const outerAlgorithm = parseAlgorithm(der, algTlv);
  const sigContent = contentOf(der, expectTag(sigTlv, 0x03, 'signature'));
  if (sigContent.length < 1 || sigContent[0] !== 0) throw new Error('signature BIT STRING has unused bits');

  const fields = childrenOf(der, tbsTlv);
  let i = 0;
  let version = 1;
  if (fields[i]?.tag === 0x02) {
    const v = readUnsignedInteger(der, fields[i++]!);
    if (v !== 1n) throw new Error('CRL version must be v2 when present');
    version = 2;
  }
  const innerAlgorithm = parseAlgorithm(der, required(fields[i++], 'signature'));
  const issuerTlv = expectTag(required(fields[i++], 'issuer'), TAG_SEQUENCE, 'issuer');
  const thisUpdate = readTime(der, required(fields[i++], 'thisUpdate'));
  let nextUpdate: Date | undefined;
  if (fields[i] && (fields[i]!.tag === 0x17 || fields[i]!.tag === 0x18))
    nextUpdate = readTime(der, fields[i++]!);
  let revoked: Tlv | undefined;
  if (fields[i]?.tag === TAG_SEQUENCE) revoked = fields[i++];
  let extensions: CrlExtension[] = [];
  if (fields[i]?.tag === 0xa0) {
    const wrapper = fields[i++]!;
    const [inner, ...more] = childrenOf(der, wrapper);
    if (!inner || more.length > 0) throw new Error('crlExtensions must hold one SEQUENCE');
    extensions = parseExtensions(der.subarray(inner.start, inner.end));
  }
  if (i !== fields.length) throw new Error('unexpected elements in tbsCertList');

  const entryTlvs = revoked ? frameEntries(der, revoked) : { start: 0, end: 0, count: 0 };
  const find = (oid: string) => extensions.find((e) => e.oid === oid)?.value;
  const aki = find(id_ce_authorityKeyIdentifier);
  const number = find(id_ce_cRLNumber);
  const base = find(id_ce_deltaCRLIndicator);
  const idp = find(id_ce_issuingDistributionPoint);
  return {
    der,
    tbsCertList: der.subarray(tbsTlv.start, tbsTlv.end),
    signatureAlgorithm: outerAlgorithm.algorithm,
    signature: Buffer.from(sigContent.subarray(1)),
    tbsSignatureAlgorithm: innerAlgorithm.algorithm,
    version,
    issuer: der.subarray(issuerTlv.start, issuerTlv.end),
    thisUpdate,
    ...(nextUpdate ? { nextUpdate } : {}),
    extensions,
    ...(aki ? { authorityKeyIdentifier: parseAki(aki) } : {}),
    ...(number ? { crlNumber: parseInteger(number) } : {}),
    ...(base ? { baseCrlNumber: parseInteger(base) } : {}),
    ...(idp ? { issuingDistributionPoint: parseIdp(idp) } : {}),
    entryCount: entryTlvs.count,
    *entries() {
      for (let at = entryTlvs.start; at < entryTlvs.end; ) {
        const start = at;
        yield malformed(MALFORMED, 'CRL entry', () => {
          const tlv = readTlv(der, start, entryTlvs.end);
          at = tlv.end;
          return parseEntry(der, tlv);
        });
      }
    },
  };
}

function frameEntries(der: Buffer, revoked: Tlv): { start: number; end: number; count: number } {
  let count = 0;
  for (let at = revoked.contentStart; at < revoked.end; count++) {
    const tlv = expectTag(readTlv(der, at, revoked.end), TAG_SEQUENCE, 'revoked certificate');
    at = tlv.end;
  }
  return { start: revoked.contentStart, end: revoked.end, count };
}

function parseEntry(der: Buffer, tlv: Tlv): ParsedCrlEntry {
  const [serialTlv, dateTlv, extsTlv, ...rest] = childrenOf(der, tlv);
  if (!serialTlv || !dateTlv || rest.length > 0) throw new Error('revoked certificate needs serial and date');
  const entry: ParsedCrlEntry = {
    serial: readUnsignedInteger(der, serialTlv),
    revocationDate: readTime(der, dateTlv),
  };
  if (!extsTlv) return entry;
  for (const extTlv of childrenOf(der, expectTag(extsTlv, TAG_SEQUENCE, 'crlEntryExtensions'))) {
    const parts = childrenOf(der, expectTag(extTlv, TAG_SEQUENCE, 'Extension'));
    const oid = contentOf(der, expectTag(required(parts[0], 'extnID'), 0x06, 'extnID'));
    const critical = parts.length === 3 && parts[1]!.tag === 0x01 && der[parts[1]!.contentStart] !== 0;
    const valueTlv = expectTag(required(parts[parts.length - 1], 'extnValue'), 0x04, 'extnValue');
    if (parts.length !== 2 && !(parts.length === 3 && parts[1]!.tag === 0x01))
      throw new Error('bad Extension');
    const inner = readTlv(der, valueTlv.contentStart, valueTlv.end);
    if (inner.end !== valueTlv.end) throw new Error('trailing bytes in extnValue');
    if (OID_REASON_CODE.equals(oid)) {
      const content = contentOf(der, expectTag(inner, 0x0a, 'reasonCode'));
      const reason = content.length === 1 ? content[0]! : -1;
      if (!isCrlReason(reason)) throw new Error('invalid reasonCode');
      entry.reason = reason;
    } else if (OID_INVALIDITY_DATE.equals(oid)) {
      entry.invalidityDate = readTime(der, expectTag(inner, 0x18, 'invalidityDate'));
    } else if (critical) {
      throw new Error('unsupported critical CRL entry extension');
    }
  }
  return entry;
}

function parseAlgorithm(der: Buffer, tlv: Tlv): AlgorithmIdentifier {
  return AsnParser.parse(der.subarray(tlv.start, tlv.end), AlgorithmIdentifier);
}

function parseExtensions(der: Buffer): CrlExtension[] {
  return AsnParser.parse(der, Extensions).map((e) => ({
    oid: e.extnID,
    critical: e.critical,
    value: Buffer.from(e.extnValue.buffer),
  }));
}

function parseAki(value: Buffer): Buffer {
  const aki = AsnParser.parse(value, AuthorityKeyIdentifier);
  if (!aki.keyIdentifier) throw new Error('authorityKeyIdentifier without keyIdentifier');
  return Buffer.from(aki.keyIdentifier.buffer);
}

function parseInteger(value: Buffer): bigint {
  const tlv = readTlv(value, 0, value.length);
  if (tlv.end !== value.length) throw new Error('trailing bytes after INTEGER');
  return readUnsignedInteger(value, tlv);
}

function parseIdp(value: Buffer): IssuingDistributionPointOptions {
  const idp = AsnParser.parse(value, IssuingDistributionPoint);
  const uris = (idp.distributionPoint?.fullName ?? []).flatMap((n) =>
    n.uniformResourceIdentifier === undefined ? [] : [n.uniformResourceIdentifier],
  );
  return {
    uris,
    onlyContainsUserCerts: idp.onlyContainsUserCerts,
    onlyContainsCACerts: idp.onlyContainsCACerts,
    onlyContainsAttributeCerts: idp.onlyContainsAttributeCerts,
    indirectCrl: idp.indirectCRL,
  };
}

function required(tlv: Tlv | undefined, what: string): Tlv {
  if (!tlv) throw new Error(`missing ${what}`);
  return tlv;
}
