import { derTlv, TAG_SEQUENCE } from './crl-der-writer.ts';

/** DER of OBJECT IDENTIFIER id-pkix-ocsp-nonce (1.3.6.1.5.5.7.48.1.2). */
const NONCE_OID = Buffer.from('06092b0601050507300102', 'hex');
const TAG_OCTET_STRING = 0x04;
const TAG_REQUEST_EXTENSIONS = 0xa2;

/**
 * An unsigned OCSPRequest for the given CertIDs (DER, from buildOcspCertId), with an RFC 8954
 * nonce (an OCTET STRING inside extnValue, as OpenSSL sends it) when one is given. For relying
 * parties, monitoring and benchmarks; the responder itself only parses requests.
 */
export function buildOcspRequest(certIds: readonly Uint8Array[], nonce?: Uint8Array): Buffer {
  const requestList = derTlv(TAG_SEQUENCE, ...certIds.map((certId) => derTlv(TAG_SEQUENCE, certId)));
  const extensions = nonce
    ? [
        derTlv(
          TAG_REQUEST_EXTENSIONS,
          derTlv(
            TAG_SEQUENCE,
            derTlv(TAG_SEQUENCE, NONCE_OID, derTlv(TAG_OCTET_STRING, derTlv(TAG_OCTET_STRING, nonce))),
          ),
        ),
      ]
    : [];
  return Buffer.from(derTlv(TAG_SEQUENCE, derTlv(TAG_SEQUENCE, requestList, ...extensions)));
}

/** The GET form of a request: the path segment after the responder URL (RFC 6960 A.1), URL-encoded base64. */
export function ocspGetPath(request: Uint8Array): string {
  return encodeURIComponent(Buffer.from(request).toString('base64'));
}
