import { pemOrDerToDer, verifyCsr } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';

/**
 * The holder's PKCS#10 request as DER, once its proof of possession verifies
 * under the GM default signer ID. Takes PEM (either request label) or bare
 * base64 DER, as clerks paste whatever the holder's tool wrote.
 */
export async function verifiedCsr(input: string): Promise<Uint8Array> {
  const text = input.trim();
  let der: Uint8Array;
  if (text.startsWith('-----BEGIN')) {
    der = pemOrDerToDer(
      Buffer.from(text.replace('NEW CERTIFICATE REQUEST', 'CERTIFICATE REQUEST'), 'latin1'),
    );
  } else {
    const base64 = text.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
      throw new AppError('CSR_MALFORMED', 'the certificate request is neither PEM nor base64 DER');
    }
    der = new Uint8Array(Buffer.from(base64, 'base64'));
  }
  await verifyCsr(der);
  return der;
}
