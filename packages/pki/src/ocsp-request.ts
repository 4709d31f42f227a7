import { id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { AsnParser } from '@peculiar/asn1-schema';
import { Extensions } from '@peculiar/asn1-x509';
import { malformed } from './certificate.ts';
import { childrenOf, expectTag, readTlv, readUnsignedInteger, type Tlv } from './crl-der-reader.ts';
import { decodeOcspCertId, type OcspCertId } from './ocsp-cert-id.ts';
import { PkiError } from './pki-error.ts';

export interface ParsedOcspRequest {
  /** One CertID per Request in requestList, in order (at least one). */
  certIds: OcspCertId[];
  /** extnValue contents of the nonce extension, to be echoed byte-for-byte. */
  nonce?: Buffer;
  /** The request carried optionalSignature; it is not checked. */
  signed: boolean;
}

export const OCSP_MALFORMED_REQUEST = 'OCSP_MALFORMED_REQUEST';
const MAX_NONCE_OCTETS = 32;
// requests larger than this are not OCSP requests a relying party would send.
const MAX_REQUEST_BYTES = 64 * 1024;

export interface OcspRequestLimits {
  /** More Requests than this are refused before any CertID is decoded: decoding is the costly part. */
  maxCertIds?: number;
}

/** Parses a DER OCSPRequest (an HTTP POST body). */
export function parseOcspRequest(der: Uint8Array, limits: OcspRequestLimits = {}): ParsedOcspRequest {
  return malformed(OCSP_MALFORMED_REQUEST, 'OCSP request', () =>
    parse(Buffer.from(der.buffer, der.byteOffset, der.byteLength), limits),
  );
}

/**
 * Parses the request from a GET URL path segment (RFC 6960 A.1): URL-encoded base64 of the DER.
 * Some clients and proxies turn '+' into spaces or use base64url; both are undone here.
 */
export function parseOcspGetRequest(pathSegment: string, limits: OcspRequestLimits = {}): ParsedOcspRequest {
  let text: string;
  try {
    text = decodeURIComponent(pathSegment.replace(/^\/+/, ''));
  } catch (err) {
    throw new PkiError(OCSP_MALFORMED_REQUEST, 'OCSP GET path is not valid URL encoding', { cause: err });
  }
  text = text.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length > (MAX_REQUEST_BYTES * 4) / 3 + 4) {
    throw new PkiError(OCSP_MALFORMED_REQUEST, 'OCSP GET path is not base64');
  }
  return parseOcspRequest(Buffer.from(text, 'base64'), limits);
}

function parse(der: Buffer, limits: OcspRequestLimits): ParsedOcspRequest {
  if (der.length > MAX_REQUEST_BYTES) throw new Error('request too large');
  const outer = expectTag(readTlv(der, 0, der.length), 0x30, 'OCSPRequest');
  if (outer.end !== der.length) throw new Error('trailing bytes after the request');
  const [tbs, signature, ...rest] = childrenOf(der, outer);
  if (!tbs || rest.length > 0 || (signature && signature.tag !== 0xa0)) throw new Error('bad OCSPRequest');
  const fields = childrenOf(der, expectTag(tbs, 0x30, 'TBSRequest'));
  let i = 0;
  if (fields[i]?.tag === 0xa0) {
    const version = explicitContent(der, fields[i++]!);
    if (readUnsignedInteger(der, version) !== 0n) throw new Error('unsupported request version');
  }
  if (fields[i]?.tag === 0xa1) i++;
  const list = fields[i++];
  if (!list) throw new Error('missing requestList');
  const requests = childrenOf(der, expectTag(list, 0x30, 'requestList'));
  if (requests.length === 0) throw new Error('empty requestList');
  if (limits.maxCertIds !== undefined && requests.length > limits.maxCertIds) {
    throw new Error(`more than ${limits.maxCertIds} CertIDs`);
  }
  const certIds = requests.map((request) => {
    const [certId, extensions, ...more] = childrenOf(der, expectTag(request, 0x30, 'Request'));
    if (!certId || more.length > 0 || (extensions && extensions.tag !== 0xa0)) throw new Error('bad Request');
    return decodeOcspCertId(der.subarray(certId.start, certId.end));
  });
  let nonce: Buffer | undefined;
  if (fields[i]?.tag === 0xa2) {
    const extensions = explicitContent(der, fields[i++]!);
    const parsed = AsnParser.parse(der.subarray(extensions.start, extensions.end), Extensions);
    const value = parsed.find((e) => e.extnID === id_pkix_ocsp_nonce)?.extnValue;
    if (value) nonce = checkNonce(Buffer.from(value.buffer));
  }
  if (i !== fields.length) throw new Error('unexpected elements in TBSRequest');
  return { certIds, ...(nonce ? { nonce } : {}), signed: signature !== undefined };
}

/** RFC 8954: 1 to 32 octets; accepts the Nonce as an OCTET STRING (RFC 6960) or as bare octets. */
function checkNonce(value: Buffer): Buffer {
  let octets = value.length;
  if (value[0] === 0x04 && value.length >= 2) {
    const inner = tryReadTlv(value);
    if (inner && inner.end === value.length) octets = inner.end - inner.contentStart;
  }
  if (octets < 1 || octets > MAX_NONCE_OCTETS) throw new Error('nonce must be 1 to 32 octets');
  return value;
}

function tryReadTlv(value: Buffer): Tlv | undefined {
  try {
    return readTlv(value, 0, value.length);
  } catch {
    return undefined;
  }
}

function explicitContent(der: Buffer, tagged: Tlv): Tlv {
  const [inner, ...more] = childrenOf(der, tagged);
  if (!inner || more.length > 0) throw new Error('explicit tag must hold one element');
  return inner;
}
