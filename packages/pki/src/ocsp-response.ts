import { parseCertificate } from './certificate.ts';
import { childrenOf, expectTag, readTlv } from './crl-der-reader.ts';
import {
  derBitString,
  derTlv,
  TAG_INTEGER,
  TAG_SEQUENCE,
  writeDerGeneralizedTime,
} from './crl-der-writer.ts';
import { SM2_WITH_SM3_ALGORITHM } from './crl-ocsp-algorithms.ts';
import type { CrlReason } from './crl-reason.ts';
import { keyIdentifier } from './key-identifier.ts';
import { type OcspCertId, publicKeyOfSpki } from './ocsp-cert-id.ts';
import { PkiError } from './pki-error.ts';
import type { Signer } from './signer.ts';

export type OcspCertStatus =
  | { status: 'good' }
  | { status: 'revoked'; revocationTime: Date; reason?: CrlReason }
  | { status: 'unknown' };

export interface OcspSingleResponseInput {
  /** Echoed as given: the request's CertID, or one from buildOcspCertId for pre-signing. */
  certId: Pick<OcspCertId, 'der'>;
  certStatus: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface OcspResponder {
  /** SHA-1 of the responder key's BIT STRING contents: the responderID byKey. */
  keyHash: Buffer;
  /** DER of the responder's certificate, sent in `certs` (RFC 5019 2.2.2 for delegated signers). */
  certificate?: Buffer;
}

export interface OcspResponseInput {
  responder: OcspResponder;
  producedAt: Date;
  responses: OcspSingleResponseInput[];
  /** Nonce extnValue from the request, echoed byte-for-byte. */
  nonce?: Uint8Array;
}

export type OcspErrorStatus =
  | 'malformedRequest'
  | 'internalError'
  | 'tryLater'
  | 'sigRequired'
  | 'unauthorized';

const ERROR_STATUS_CODES: Readonly<Record<OcspErrorStatus, number>> = {
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
};

/** DER of the OBJECT IDENTIFIER id-pkix-ocsp-basic (1.3.6.1.5.5.7.48.1.1), the responseType. */
export const OCSP_BASIC_TYPE_DER = Buffer.from('06092b0601050507300101', 'hex');
const SUCCESSFUL = Buffer.from('0a0100', 'hex');
/** OBJECT IDENTIFIER id-pkix-ocsp-nonce (1.3.6.1.5.5.7.48.1.2). */
const NONCE_OID = Buffer.from('06092b0601050507300102', 'hex');
const GOOD = Buffer.of(0x80, 0);
const UNKNOWN = Buffer.of(0x82, 0);
const TAG_OCTET_STRING = 0x04;
const TAG_ENUMERATED = 0x0a;
const CERT_ID_FIELD_TAGS = [TAG_SEQUENCE, TAG_OCTET_STRING, TAG_OCTET_STRING, TAG_INTEGER];

/** The responder identity for a signing certificate (DER), computed once at start-up. */
export function ocspResponderFromCertificate(certificate: Uint8Array): OcspResponder {
  const { spki } = parseCertificate(certificate);
  return {
    keyHash: Buffer.from(keyIdentifier(publicKeyOfSpki(spki))),
    certificate: Buffer.from(certificate),
  };
}

/**
 * Builds and signs a successful OCSPResponse carrying a BasicOCSPResponse. The result is complete
 * DER: a responder can store it per CertID (see ocspCacheKey) and serve the bytes until nextUpdate.
 * Written directly rather than through an ASN.1 object model, which costs more main-thread time
 * than the device spends signing and so would cap live (nonce) responses below the sign rate.
 */
export async function buildOcspResponse(input: OcspResponseInput, signer: Signer): Promise<Buffer> {
  if (input.responses.length === 0) throw new PkiError('OCSP_INVALID_RESPONSE', 'no single responses');
  const tbs = responseData(input);
  const signature = await signer.sign(tbs);
  const certs = input.responder.certificate
    ? [derTlv(0xa0, derTlv(TAG_SEQUENCE, input.responder.certificate))]
    : [];
  const basic = derTlv(TAG_SEQUENCE, tbs, SM2_WITH_SM3_ALGORITHM, derBitString(signature), ...certs);
  return derTlv(
    TAG_SEQUENCE,
    SUCCESSFUL,
    derTlv(0xa0, derTlv(TAG_SEQUENCE, OCSP_BASIC_TYPE_DER, derTlv(TAG_OCTET_STRING, basic))),
  );
}

/** An unsuccessful OCSPResponse: just the status, no responseBytes (RFC 6960 4.2.1). */
export function buildOcspErrorResponse(status: OcspErrorStatus): Buffer {
  return Buffer.of(TAG_SEQUENCE, 3, TAG_ENUMERATED, 1, ERROR_STATUS_CODES[status]);
}

/** The ResponseData the responder key signs: responderID byKey, version left at its default. */
function responseData(input: OcspResponseInput): Buffer {
  const extensions = input.nonce
    ? [
        derTlv(
          0xa1,
          derTlv(TAG_SEQUENCE, derTlv(TAG_SEQUENCE, NONCE_OID, derTlv(TAG_OCTET_STRING, input.nonce))),
        ),
      ]
    : [];
  return derTlv(
    TAG_SEQUENCE,
    derTlv(0xa2, derTlv(TAG_OCTET_STRING, input.responder.keyHash)),
    generalizedTime(input.producedAt),
    derTlv(TAG_SEQUENCE, ...input.responses.map(singleResponse)),
    ...extensions,
  );
}

function singleResponse(input: OcspSingleResponseInput): Buffer {
  checkCertId(input.certId.der);
  return derTlv(
    TAG_SEQUENCE,
    input.certId.der,
    certStatus(input.certStatus),
    generalizedTime(input.thisUpdate),
    ...(input.nextUpdate ? [derTlv(0xa0, generalizedTime(input.nextUpdate))] : []),
  );
}

function certStatus(status: OcspCertStatus): Buffer {
  if (status.status === 'good') return GOOD;
  if (status.status === 'unknown') return UNKNOWN;
  const reason =
    status.reason === undefined ? [] : [derTlv(0xa0, derTlv(TAG_ENUMERATED, Uint8Array.of(status.reason)))];
  return derTlv(0xa1, generalizedTime(status.revocationTime), ...reason);
}

/** The CertID is echoed byte for byte, so it must at least be one: a cheap look at its outline. */
function checkCertId(der: Uint8Array): void {
  try {
    const certId = expectTag(readTlv(der, 0, der.length), TAG_SEQUENCE, 'CertID');
    if (certId.end !== der.length) throw new Error('bytes after the CertID');
    const fields = childrenOf(der, certId);
    if (fields.length !== 4 || fields.some((field, i) => field.tag !== CERT_ID_FIELD_TAGS[i]))
      throw new Error('not SEQUENCE { hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber }');
  } catch (err) {
    throw new PkiError('OCSP_INVALID_RESPONSE', 'certId.der is not a CertID', { cause: err });
  }
}

/** GeneralizedTime to the second: OCSP times carry no fractional seconds (RFC 5280 4.1.2.5.2 style). */
function generalizedTime(date: Date): Buffer {
  const out = Buffer.allocUnsafe(17);
  writeDerGeneralizedTime(out, 0, date);
  return out;
}
