import type { Device } from '@sm2ca/device';
import { decodeSm2Spki, encodeSm2Spki, GmError } from '@sm2ca/gm';
import {
  type ParsedCsr,
  PkiError,
  type ProfileId,
  parseCsr,
  pemOrDerToDer,
  type Verifier,
  verifyCsr,
} from '@sm2ca/pki';
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
 * Proof of possession checked in the crypto device: the host's pure-JS SM2 verify held the event
 * loop ~40 ms per request (a 10,000-row batch took minutes), the device's takes well under a
 * millisecond off it. The key goes in as the one SPKI form every device reads; a key the GM
 * decoder refuses verifies nothing, as with the host verifier.
 */
export function deviceCsrVerifier(device: Pick<Device, 'verify'>): Verifier {
  return {
    async verify(spki, data, signature) {
      let canonical: Uint8Array;
      try {
        canonical = encodeSm2Spki(decodeSm2Spki(spki));
      } catch (err) {
        if (err instanceof GmError) return false;
        throw err;
      }
      return device.verify(canonical, data, signature);
    },
  };
}

/**
 * The holder's PKCS#10 request, parsed, once its proof of possession verifies
 * under the GM default signer ID. Takes PEM (any request label) or bare base64
 * DER, as clerks paste whatever the holder's tool wrote.
 */
export async function verifiedCsr(input: string, verifier: Verifier): Promise<ParsedCsr> {
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
  return verifyCsr(der, verifier);
}

/** The binding certifying this verified request's key for `holderKey` under `profile` would make. */
export function csrKeyBinding(csr: Uint8Array | ParsedCsr, holderKey: string, profile: string): KeyBinding {
  const { publicKey } = csr instanceof Uint8Array ? parseCsr(csr) : csr;
  return keyBindingOf(publicKey, holderKey, profile as ProfileId);
}
