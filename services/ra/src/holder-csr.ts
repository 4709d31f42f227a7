import { PkiError, type ProfileId, parseCsr, pemOrDerToDer, verifyCsr } from '@sm2ca/pki';
import { AppError, type KeyBinding, keyBindingOf } from '@sm2ca/platform';

function malformed(cause?: unknown): AppError {
  return new AppError(
    'CSR_MALFORMED',
    'the certificate request is neither PEM nor base64 DER',
    400,
    undefined,
    {
      cause,
    },
  );
}

/**
 * The holder's PKCS#10 request as DER, once its proof of possession verifies
 * under the GM default signer ID. Takes PEM (any request label) or bare base64
 * DER, as clerks paste whatever the holder's tool wrote.
 */
export async function verifiedCsr(input: string): Promise<Uint8Array> {
  const text = input.trim();
  let der: Uint8Array;
  if (text.startsWith('-----BEGIN')) {
    try {
      der = pemOrDerToDer(Buffer.from(text, 'latin1'));
    } catch (err) {
      if (err instanceof PkiError) throw malformed(err);
      throw err;
    }
  } else {
    const base64 = text.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw malformed();
    der = new Uint8Array(Buffer.from(base64, 'base64'));
  }
  await verifyCsr(der);
  return der;
}

/** The binding certifying this verified request's key for `holderKey` under `profile` would make. */
export function csrKeyBinding(csr: Uint8Array, holderKey: string, profile: string): KeyBinding {
  return keyBindingOf(parseCsr(csr).publicKey, holderKey, profile as ProfileId);
}
