import { Attributes } from '@peculiar/asn1-csr';
import { AsnProp, AsnPropTypes, AsnSerializer, BitString, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Attribute, Extension, Extensions } from '@peculiar/asn1-x509';
import { bytesEqual, decodeSm2Spki, encodeSm2Spki, GmError, parseDer } from '@sm2ca/gm';
import type { AlgorithmInfo, CertificateExtension } from './certificate.ts';
import { childrenOf, contentOf, readTlv, type Tlv } from './crl-der-reader.ts';
import { derBitString, derTlv, TAG_SEQUENCE } from './crl-der-writer.ts';
import { SM2_WITH_SM3_ALGORITHM } from './crl-ocsp-algorithms.ts';
import { type DecodedDnAttribute, type DnAttribute, decodeName, encodeName } from './name.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';
import type { Signer, Verifier } from './signer.ts';
import { sm2Verifier } from './sm2-verifier.ts';

/** CertificationRequestInfo keeping subject and SPKI as the bytes received. */
class CsrInfoAsn {
  version = 0;
  subject = new ArrayBuffer(0);
  subjectPKInfo = new ArrayBuffer(0);
  attributes = new Attributes();
}
AsnProp({ type: AsnPropTypes.Integer })(CsrInfoAsn.prototype, 'version');
AsnProp({ type: AsnPropTypes.Any })(CsrInfoAsn.prototype, 'subject');
AsnProp({ type: AsnPropTypes.Any })(CsrInfoAsn.prototype, 'subjectPKInfo');
AsnProp({ type: Attributes, context: 0, implicit: true })(CsrInfoAsn.prototype, 'attributes');

class CsrAsn {
  certificationRequestInfo = new CsrInfoAsn();
  certificationRequestInfoRaw?: ArrayBuffer;
  signatureAlgorithm = new AlgorithmIdentifier();
  signature = new BitString();
}
AsnProp({ type: CsrInfoAsn, raw: true })(CsrAsn.prototype, 'certificationRequestInfo');
AsnProp({ type: AlgorithmIdentifier })(CsrAsn.prototype, 'signatureAlgorithm');
AsnProp({ type: BitString })(CsrAsn.prototype, 'signature');

export interface ParsedCsr {
  der: Uint8Array;
  /** certificationRequestInfo as received: the bytes the proof of possession signs. */
  info: Uint8Array;
  /** DER Name as requested. */
  subject: Uint8Array;
  subjectAttributes: DecodedDnAttribute[];
  spki: Uint8Array;
  /** 04‖X‖Y. */
  publicKey: Uint8Array;
  /** From the PKCS#9 extensionRequest attribute; empty when there is none. */
  extensions: CertificateExtension[];
  signatureAlgorithm: AlgorithmInfo;
  signature: Uint8Array;
}

/**
 * Parses a PKCS#10 request and checks it is SM2-with-SM3 over an SM2 key; does not check the
 * signature (see verifyCsr). Throws PkiError CSR_MALFORMED, CSR_WRONG_ALGORITHM or CSR_UNSUPPORTED_CURVE.
 */
export function parseCsr(der: Uint8Array): ParsedCsr {
  const parts = readPlainCsr(der) ?? readCsr(der);
  let publicKey: Uint8Array;
  try {
    publicKey = decodeSm2Spki(parts.spki);
  } catch (err) {
    if (!(err instanceof GmError)) throw err;
    const code = err.code === 'SPKI_MALFORMED' ? 'CSR_MALFORMED' : 'CSR_UNSUPPORTED_CURVE';
    throw new PkiError(code, `request public key: ${err.message}`, { cause: err });
  }
  return { der: new Uint8Array(der), ...parts, publicKey };
}

type CsrParts = Omit<ParsedCsr, 'der' | 'publicKey'>;

/**
 * The request nearly every holder sends (v1, no attributes, SM2-with-SM3 without parameters),
 * read with the strict DER reader; undefined for anything else, which `readCsr` reads. The
 * schema decoder cost more than the rest of checking a request.
 */
function readPlainCsr(der: Uint8Array): CsrParts | undefined {
  let parts: Tlv[];
  let info: Tlv[];
  try {
    const outer = readTlv(der, 0, der.length);
    if (outer.tag !== TAG_SEQUENCE || outer.end !== der.length) return undefined;
    parts = childrenOf(der, outer);
    if (parts.length !== 3 || parts[0]!.tag !== TAG_SEQUENCE) return undefined;
    info = childrenOf(der, parts[0]!);
  } catch {
    return undefined;
  }
  const [infoTlv, algorithm, signature] = parts as [Tlv, Tlv, Tlv];
  const [version, subject, spki, attributes] = info;
  const bitString = contentOf(der, signature);
  if (
    info.length !== 4 ||
    !bytesEqual(der.subarray(version!.start, version!.end), V1) ||
    subject!.tag !== TAG_SEQUENCE ||
    spki!.tag !== TAG_SEQUENCE ||
    attributes!.tag !== 0xa0 ||
    attributes!.contentStart !== attributes!.end ||
    !bytesEqual(der.subarray(algorithm.start, algorithm.end), SM2_WITH_SM3_ALGORITHM) ||
    signature.tag !== 0x03 ||
    bitString[0] !== 0
  ) {
    return undefined;
  }
  const subjectDer = der.slice(subject!.start, subject!.end);
  let subjectAttributes: DecodedDnAttribute[];
  try {
    subjectAttributes = decodeName(subjectDer);
  } catch (err) {
    throw new PkiError('CSR_MALFORMED', `malformed certificate request: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return {
    info: der.slice(infoTlv.start, infoTlv.end),
    subject: subjectDer,
    subjectAttributes,
    spki: der.slice(spki!.start, spki!.end),
    extensions: [],
    signatureAlgorithm: { oid: OIDS.sm2WithSm3 },
    signature: bitString.slice(1),
  };
}

/** INTEGER 0: the only PKCS#10 version. */
const V1 = Uint8Array.of(0x02, 0x01, 0x00);

/** Any PKCS#10 request, through the schema decoder. */
function readCsr(der: Uint8Array): CsrParts {
  let csr: CsrAsn;
  let subjectAttributes: DecodedDnAttribute[];
  let extensions: CertificateExtension[];
  try {
    csr = parseDer(der, CsrAsn);
    if (!csr.certificationRequestInfoRaw) throw new Error('no certificationRequestInfo');
    if (csr.certificationRequestInfo.version !== 0) throw new Error('version must be v1 (0)');
    if (csr.signature.unusedBits !== 0) throw new Error('signature BIT STRING has unused bits');
    subjectAttributes = decodeName(new Uint8Array(csr.certificationRequestInfo.subject));
    extensions = requestedExtensions(csr.certificationRequestInfo.attributes);
  } catch (err) {
    throw new PkiError('CSR_MALFORMED', `malformed certificate request: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const alg = csr.signatureAlgorithm;
  const params = alg.parameters;
  if (alg.algorithm !== OIDS.sm2WithSm3 || (params !== undefined && params !== null)) {
    throw new PkiError('CSR_WRONG_ALGORITHM', `request signed with ${alg.algorithm}, not SM2-with-SM3`);
  }
  return {
    info: new Uint8Array(csr.certificationRequestInfoRaw),
    subject: new Uint8Array(csr.certificationRequestInfo.subject),
    subjectAttributes,
    spki: new Uint8Array(csr.certificationRequestInfo.subjectPKInfo),
    extensions,
    signatureAlgorithm:
      params === null ? { oid: alg.algorithm, parameters: Uint8Array.of(5, 0) } : { oid: alg.algorithm },
    signature: new Uint8Array(csr.signature.value),
  };
}

/**
 * Proof of possession under the GM default ID, on a request's DER (parsed first) or on a parsed
 * request; throws PkiError(CSR_BAD_SIGNATURE).
 */
export async function verifyCsr(
  csr: Uint8Array | ParsedCsr,
  verifier: Verifier = sm2Verifier,
): Promise<ParsedCsr> {
  const parsed = csr instanceof Uint8Array ? parseCsr(csr) : csr;
  if (!(await verifier.verify(parsed.spki, parsed.info, parsed.signature))) {
    throw new PkiError('CSR_BAD_SIGNATURE', 'proof of possession does not verify under the GM default ID');
  }
  return parsed;
}

export interface CsrInput {
  subject: readonly DnAttribute[];
  /** 65-byte 04‖X‖Y. */
  publicKey: Uint8Array;
  extensions?: readonly CertificateExtension[];
}

/** A PKCS#10 request signed (proof of possession) by `signer`, the key's own holder. */
export async function buildCsr(input: CsrInput, signer: Signer): Promise<Uint8Array> {
  const info = new CsrInfoAsn();
  info.subject = toArrayBuffer(encodeName(input.subject));
  try {
    info.subjectPKInfo = toArrayBuffer(encodeSm2Spki(input.publicKey));
  } catch (err) {
    throw new PkiError('PUBLIC_KEY_INVALID', (err as Error).message, { cause: err });
  }
  if (input.extensions?.length) {
    const extensions = new Extensions(
      input.extensions.map(
        (e) => new Extension({ extnID: e.oid, critical: e.critical, extnValue: new OctetString(e.value) }),
      ),
    );
    info.attributes = new Attributes([
      new Attribute({ type: OIDS.extensionRequest, values: [AsnSerializer.serialize(extensions)] }),
    ]);
  }
  const infoDer = new Uint8Array(AsnSerializer.serialize(info));
  const signature = await signer.sign(infoDer);
  return new Uint8Array(derTlv(TAG_SEQUENCE, infoDer, SM2_WITH_SM3_ALGORITHM, derBitString(signature)));
}

function requestedExtensions(attributes: Attributes): CertificateExtension[] {
  const request = attributes.find((a) => a.type === OIDS.extensionRequest);
  const value = request?.values[0];
  if (!value) return [];
  return Array.from(parseDer(new Uint8Array(value), Extensions), (e) => ({
    oid: e.extnID,
    critical: e.critical,
    value: new Uint8Array(e.extnValue.buffer),
  }));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}
