import {
  buildOcspCertId,
  buildOcspRequest,
  parseCertificate,
  parseOcspResponse,
  publicKeyOfSpki,
  sm2Verifier,
  verifyOcspResponse,
} from '@sm2ca/pki';
import type { KnownIssuer } from './known-issuers.ts';
import { fetchOk, ProbeFailure } from './probe-failure.ts';

/** Asked when an issuer has signed nothing yet: the responder still signs its "unknown". */
const unusedSerial = 0x5a5a5a5a5a5a5a5an;

/**
 * A relying party's question: the status of a certificate the issuer signed, posted as an RFC 6960
 * request; the answer must be a successful response for that CertID, signed by a responder
 * certificate the issuer signed (or by the issuer itself).
 */
export async function probeOcsp(url: string, issuer: KnownIssuer, signal: AbortSignal): Promise<void> {
  const serial = issuer.knownSerial ? BigInt(`0x${issuer.knownSerial}`) : unusedSerial;
  const certId = buildOcspCertId(
    { subjectDer: issuer.subject, publicKey: publicKeyOfSpki(issuer.spki) },
    serial,
  );
  const res = await fetchOk(url, signal, {
    method: 'POST',
    headers: { 'content-type': 'application/ocsp-request' },
    body: buildOcspRequest([certId.der]),
  });
  const answer = parseOcspResponse(new Uint8Array(await res.arrayBuffer()));
  if (answer.status !== 'successful') {
    throw new ProbeFailure(`OCSP_${answer.status.toUpperCase()}`, `the responder answered ${answer.status}`);
  }
  const single = answer.basic.responses[0];
  if (answer.basic.responses.length !== 1 || !single || single.certId.serial !== serial) {
    throw new ProbeFailure('OCSP_WRONG_CERT_ID', 'the response is not about the certificate asked for');
  }
  const signerDer = answer.basic.certs[0];
  let signerSpki = issuer.spki;
  if (signerDer) {
    const signer = parseCertificate(signerDer);
    if (!(await sm2Verifier.verify(issuer.spki, signer.tbs, signer.signature))) {
      throw new ProbeFailure(
        'OCSP_SIGNER_UNTRUSTED',
        'the responder certificate is not signed by the issuer',
      );
    }
    signerSpki = signer.spki;
  }
  if (!(await verifyOcspResponse(answer.basic, signerSpki, sm2Verifier))) {
    throw new ProbeFailure('OCSP_SIGNATURE_INVALID', 'the response signature does not verify');
  }
}
