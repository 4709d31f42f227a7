import {
  CertID,
  CertStatus,
  id_pkix_ocsp_nonce,
  KeyHash,
  ResponderID,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp';
import { AsnParser, AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import { CRLReason, Extension } from '@peculiar/asn1-x509';
import { parseCertificate } from './certificate.ts';
import { derBitString, derTlv, TAG_SEQUENCE } from './crl-der-writer.ts';
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
 */
export async function buildOcspResponse(input: OcspResponseInput, signer: Signer): Promise<Buffer> {
  if (input.responses.length === 0) throw new PkiError('OCSP_INVALID_RESPONSE', 'no single responses');
  const data = new ResponseData({
    responderID: new ResponderID({ byKey: new KeyHash(input.responder.keyHash) }),
    producedAt: toSecond(input.producedAt),
    responses: input.responses.map(singleResponse),
  });
  if (input.nonce) {
    data.responseExtensions = [
      new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(input.nonce) }),
    ];
  }
  const tbs = Buffer.from(AsnSerializer.serialize(data));
  const signature = await signer.sign(tbs);
  const certs = input.responder.certificate
    ? [derTlv(0xa0, derTlv(TAG_SEQUENCE, input.responder.certificate))]
    : [];
  const basic = derTlv(TAG_SEQUENCE, tbs, SM2_WITH_SM3_ALGORITHM, derBitString(signature), ...certs);
  return derTlv(
    TAG_SEQUENCE,
    SUCCESSFUL,
    derTlv(0xa0, derTlv(TAG_SEQUENCE, OCSP_BASIC_TYPE_DER, derTlv(0x04, basic))),
  );
}

/** An unsuccessful OCSPResponse: just the status, no responseBytes (RFC 6960 4.2.1). */
export function buildOcspErrorResponse(status: OcspErrorStatus): Buffer {
  return Buffer.of(TAG_SEQUENCE, 3, 0x0a, 1, ERROR_STATUS_CODES[status]);
}

function singleResponse(input: OcspSingleResponseInput): SingleResponse {
  let certID: CertID;
  try {
    certID = AsnParser.parse(input.certId.der, CertID);
  } catch (err) {
    throw new PkiError('OCSP_INVALID_RESPONSE', 'certId.der is not a CertID', { cause: err });
  }
  const { certStatus } = input;
  const status =
    certStatus.status === 'good'
      ? new CertStatus({ good: null })
      : certStatus.status === 'unknown'
        ? new CertStatus({ unknown: null })
        : new CertStatus({
            revoked: new RevokedInfo({
              revocationTime: toSecond(certStatus.revocationTime),
              ...(certStatus.reason === undefined
                ? {}
                : { revocationReason: new CRLReason(certStatus.reason) }),
            }),
          });
  const response = new SingleResponse({ certID, certStatus: status, thisUpdate: toSecond(input.thisUpdate) });
  if (input.nextUpdate) response.nextUpdate = toSecond(input.nextUpdate);
  return response;
}

/** GeneralizedTime in OCSP carries no fractional seconds (RFC 5280 4.1.2.5.2 style). */
function toSecond(date: Date): Date {
  const time = date.getTime();
  if (Number.isNaN(time)) throw new PkiError('INVALID_TIME', 'invalid date');
  return new Date(Math.floor(time / 1000) * 1000);
}
