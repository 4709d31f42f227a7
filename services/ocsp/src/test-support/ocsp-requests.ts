/** DER TLV with a definite length. */
function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  const length = n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : Buffer.of(0x82, n >> 8, n & 0xff);
  return Buffer.concat([Buffer.of(tag), length, body]);
}

/** DER of OBJECT IDENTIFIER id-pkix-ocsp-nonce (1.3.6.1.5.5.7.48.1.2). */
const NONCE_OID = Buffer.from('06092b0601050507300102', 'hex');

/**
 * An unsigned OCSPRequest for the given CertIDs (DER), with an RFC 8954 nonce (an OCTET
 * STRING inside extnValue, as OpenSSL sends it) when one is given.
 */
export function ocspRequestDer(certIds: readonly Buffer[], nonce?: Buffer): Buffer {
  const requestList = tlv(0x30, ...certIds.map((certId) => tlv(0x30, certId)));
  const extensions = nonce ? [tlv(0xa2, tlv(0x30, tlv(0x30, NONCE_OID, tlv(0x04, tlv(0x04, nonce)))))] : [];
  return tlv(0x30, tlv(0x30, requestList, ...extensions));
}

/** The GET form: the path segment after /ocsp/ (RFC 6960 A.1), URL-encoded base64. */
export function ocspGetPath(request: Buffer): string {
  return encodeURIComponent(request.toString('base64'));
}
