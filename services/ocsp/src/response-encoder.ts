import {
  type CrlReason,
  OCSP_BASIC_TYPE_DER,
  type OcspResponder,
  type OcspSingleResponseInput,
} from '@sm2ca/pki';
import { generalizedTime, tlv } from './der-writer.ts';

/**
 * The bytes of pki's buildOcspResponse, written directly: its ASN.1 object model costs more
 * main-thread time than the device spends signing, which caps nonce responses far below
 * the device's sign rate. response-encoder.test.ts holds the two byte-for-byte equal.
 */

/** AlgorithmIdentifier SM2-with-SM3 (1.2.156.10197.1.501), no parameters (GM/T 0015). */
const SM2_WITH_SM3 = Buffer.from('300a06082a811ccf55018375', 'hex');
/** OBJECT IDENTIFIER id-pkix-ocsp-nonce (1.3.6.1.5.5.7.48.1.2). */
const NONCE_OID = Buffer.from('06092b0601050507300102', 'hex');
const GOOD = Buffer.from('8000', 'hex');
const UNKNOWN = Buffer.from('8200', 'hex');
const SUCCESSFUL = Buffer.from('0a0100', 'hex');

export interface ResponseDataInput {
  responder: OcspResponder;
  producedAt: Date;
  responses: readonly OcspSingleResponseInput[];
  /** Nonce extnValue from the request, echoed byte-for-byte. */
  nonce?: Uint8Array;
}

function certStatus(input: OcspSingleResponseInput['certStatus']): Buffer {
  if (input.status === 'good') return GOOD;
  if (input.status === 'unknown') return UNKNOWN;
  const reason =
    input.reason === undefined ? [] : [tlv(0xa0, tlv(0x0a, Uint8Array.of(input.reason as CrlReason)))];
  return tlv(0xa1, generalizedTime(input.revocationTime), ...reason);
}

function singleResponse(input: OcspSingleResponseInput): Buffer {
  return tlv(
    0x30,
    input.certId.der,
    certStatus(input.certStatus),
    generalizedTime(input.thisUpdate),
    ...(input.nextUpdate ? [tlv(0xa0, generalizedTime(input.nextUpdate))] : []),
  );
}

/** The ResponseData the responder key signs. */
export function encodeResponseData(input: ResponseDataInput): Buffer {
  const extensions = input.nonce ? [tlv(0xa1, tlv(0x30, tlv(0x30, NONCE_OID, tlv(0x04, input.nonce))))] : [];
  return tlv(
    0x30,
    tlv(0xa2, tlv(0x04, input.responder.keyHash)),
    generalizedTime(input.producedAt),
    tlv(0x30, ...input.responses.map(singleResponse)),
    ...extensions,
  );
}

/** The successful OCSPResponse around signed ResponseData, with the responder's certificate. */
export function encodeOcspResponse(
  responseData: Buffer,
  signature: Uint8Array,
  responder: OcspResponder,
): Buffer {
  const certs = responder.certificate ? [tlv(0xa0, tlv(0x30, responder.certificate))] : [];
  const basic = tlv(0x30, responseData, SM2_WITH_SM3, tlv(0x03, Uint8Array.of(0), signature), ...certs);
  return tlv(0x30, SUCCESSFUL, tlv(0xa0, tlv(0x30, OCSP_BASIC_TYPE_DER, tlv(0x04, basic))));
}
