import { id_pkix_ocsp_nonce, ResponseData } from '@peculiar/asn1-ocsp';
import { AsnParser } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { malformed } from './certificate.ts';
import { childrenOf, contentOf, expectTag, readTlv, type Tlv } from './crl-der-reader.ts';
import { OID_SM2_WITH_SM3 } from './crl-ocsp-algorithms.ts';
import { type CrlReason, isCrlReason } from './crl-reason.ts';
import { decodeOcspCertId, type OcspCertId } from './ocsp-cert-id.ts';
import { OCSP_BASIC_TYPE_DER, type OcspCertStatus, type OcspErrorStatus } from './ocsp-response.ts';
import type { Verifier } from './signer.ts';

export interface ParsedOcspSingleResponse {
  certId: OcspCertId;
  certStatus: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface ParsedBasicOcspResponse {
  /** The signed ResponseData bytes exactly as received. */
  tbsResponseData: Buffer;
  signatureAlgorithm: string;
  /** DER SEQUENCE { r, s } from the signature BIT STRING. */
  signature: Buffer;
  /** DER certificates from `certs`, as received. */
  certs: Buffer[];
  responderKeyHash?: Buffer;
  /** DER Name when the responder is identified byName. */
  responderName?: Buffer;
  producedAt: Date;
  responses: ParsedOcspSingleResponse[];
  nonce?: Buffer;
}

export type ParsedOcspResponse =
  | { status: 'successful'; basic: ParsedBasicOcspResponse }
  | { status: OcspErrorStatus };

const STATUS_NAMES: Readonly<Record<number, OcspErrorStatus>> = {
  1: 'malformedRequest',
  2: 'internalError',
  3: 'tryLater',
  5: 'sigRequired',
  6: 'unauthorized',
};

/** Parses an OCSPResponse (for tests and monitoring); errors are PkiError(OCSP_MALFORMED_RESPONSE). */
export function parseOcspResponse(der: Uint8Array): ParsedOcspResponse {
  return malformed('OCSP_MALFORMED_RESPONSE', 'OCSP response', () =>
    parse(Buffer.from(der.buffer, der.byteOffset, der.byteLength)),
  );
}

/** Checks the signature over the received ResponseData bytes with the signer's SubjectPublicKeyInfo. */
export async function verifyOcspResponse(
  basic: ParsedBasicOcspResponse,
  signerSpki: Uint8Array,
  verifier: Verifier,
): Promise<boolean> {
  if (basic.signatureAlgorithm !== OID_SM2_WITH_SM3) return false;
  return verifier.verify(signerSpki, basic.tbsResponseData, basic.signature);
}

function parse(der: Buffer): ParsedOcspResponse {
  const outer = expectTag(readTlv(der, 0, der.length), 0x30, 'OCSPResponse');
  if (outer.end !== der.length) throw new Error('trailing bytes after the response');
  const [statusTlv, bytesTlv, ...rest] = childrenOf(der, outer);
  if (!statusTlv || rest.length > 0) throw new Error('bad OCSPResponse');
  const statusContent = contentOf(der, expectTag(statusTlv, 0x0a, 'responseStatus'));
  if (statusContent.length !== 1) throw new Error('bad responseStatus');
  const code = statusContent[0]!;
  if (code !== 0) {
    const status = STATUS_NAMES[code];
    if (!status) throw new Error(`unknown responseStatus ${code}`);
    if (bytesTlv) throw new Error('unsuccessful response with responseBytes');
    return { status };
  }
  if (!bytesTlv) throw new Error('successful response without responseBytes');
  const responseBytes = expectTag(
    single(der, expectTag(bytesTlv, 0xa0, 'responseBytes')),
    0x30,
    'ResponseBytes',
  );
  const [typeTlv, octets, ...more] = childrenOf(der, responseBytes);
  if (!typeTlv || !octets || more.length > 0) throw new Error('bad ResponseBytes');
  if (!OCSP_BASIC_TYPE_DER.equals(der.subarray(typeTlv.start, typeTlv.end)))
    throw new Error('unsupported response type');
  expectTag(octets, 0x04, 'response');
  return { status: 'successful', basic: parseBasic(der.subarray(octets.contentStart, octets.end)) };
}

function parseBasic(der: Buffer): ParsedBasicOcspResponse {
  const outer = expectTag(readTlv(der, 0, der.length), 0x30, 'BasicOCSPResponse');
  if (outer.end !== der.length) throw new Error('trailing bytes after BasicOCSPResponse');
  const [tbsTlv, algTlv, sigTlv, certsTlv, ...rest] = childrenOf(der, outer);
  if (!tbsTlv || !algTlv || !sigTlv || rest.length > 0) throw new Error('bad BasicOCSPResponse');
  const tbsResponseData = der.subarray(tbsTlv.start, tbsTlv.end);
  const algorithm = AsnParser.parse(der.subarray(algTlv.start, algTlv.end), AlgorithmIdentifier);
  const sig = contentOf(der, expectTag(sigTlv, 0x03, 'signature'));
  if (sig.length < 1 || sig[0] !== 0) throw new Error('signature BIT STRING has unused bits');
  const certs = certsTlv
    ? childrenOf(der, expectTag(single(der, expectTag(certsTlv, 0xa0, 'certs')), 0x30, 'certs')).map((c) =>
        der.subarray(c.start, c.end),
      )
    : [];

  const data = AsnParser.parse(tbsResponseData, ResponseData);
  if (data.version !== 0) throw new Error('unsupported ResponseData version');
  const fields = childrenOf(der, tbsTlv);
  const first = fields[0]?.tag === 0xa0 ? 1 : 0;
  const responderTlv = single(der, required(fields[first]));
  const responseTlvs = childrenOf(der, required(fields[first + 2]));
  if (responseTlvs.length !== data.responses.length) throw new Error('responses do not frame');
  const nonce = data.responseExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce)?.extnValue;
  return {
    tbsResponseData,
    signatureAlgorithm: algorithm.algorithm,
    signature: Buffer.from(sig.subarray(1)),
    certs,
    ...(data.responderID.byKey ? { responderKeyHash: Buffer.from(data.responderID.byKey.buffer) } : {}),
    ...(data.responderID.byName ? { responderName: der.subarray(responderTlv.start, responderTlv.end) } : {}),
    producedAt: data.producedAt,
    responses: data.responses.map((single, i) => {
      const certIdTlv = required(childrenOf(der, required(responseTlvs[i]))[0]);
      return {
        certId: decodeOcspCertId(der.subarray(certIdTlv.start, certIdTlv.end)),
        certStatus: certStatus(single.certStatus),
        thisUpdate: single.thisUpdate,
        ...(single.nextUpdate ? { nextUpdate: single.nextUpdate } : {}),
      };
    }),
    ...(nonce ? { nonce: Buffer.from(nonce.buffer) } : {}),
  };
}

function certStatus(status: ResponseData['responses'][number]['certStatus']): OcspCertStatus {
  if (status.revoked) {
    const reason = status.revoked.revocationReason?.reason;
    if (reason !== undefined && !isCrlReason(reason)) throw new Error('invalid revocation reason');
    return {
      status: 'revoked',
      revocationTime: status.revoked.revocationTime,
      ...(reason === undefined ? {} : { reason: reason as CrlReason }),
    };
  }
  if (status.good === null) return { status: 'good' };
  return { status: 'unknown' };
}

function single(der: Buffer, tagged: Tlv): Tlv {
  const [inner, ...more] = childrenOf(der, tagged);
  if (!inner || more.length > 0) throw new Error('explicit tag must hold one element');
  return inner;
}

function required(tlv: Tlv | undefined): Tlv {
  if (!tlv) throw new Error('missing element');
  return tlv;
}
