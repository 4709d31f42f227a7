import { AsnSerializer } from '@peculiar/asn1-schema';
import type { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { bytesEqual } from '@sm2ca/gm';
import { derTlv, TAG_SEQUENCE } from '../crl-der-writer.ts';
import { SM2_WITH_SM3_ALGORITHM } from '../crl-ocsp-algorithms.ts';
import { malformed } from '../malformed.ts';
import { OIDS } from '../oids.ts';
import type { Signer } from '../signer.ts';

const TAG_OCTET_STRING = 0x04;

/**
 * CARequest and KMRespond are both SEQUENCE { tbs, signatureAlgorithm AlgorithmIdentifier,
 * signatureValue OCTET STRING } (OCTET STRING, not BIT STRING: gmObject and gm-java agree), the
 * value being the SM2-with-SM3 signature DER SEQUENCE { r, s } over the tbs bytes.
 */
export async function signKmMessage(tbs: Uint8Array, signer: Signer): Promise<Uint8Array> {
  const signature = await signer.sign(tbs);
  return new Uint8Array(
    derTlv(TAG_SEQUENCE, tbs, SM2_WITH_SM3_ALGORITHM, derTlv(TAG_OCTET_STRING, signature)),
  );
}

/** SM2-with-SM3 with absent or NULL parameters; anything else is not a message we could verify. */
export function checkSignatureAlgorithm(algorithm: AlgorithmIdentifier): void {
  if (algorithm.algorithm !== OIDS.sm2WithSm3) {
    throw new Error(`signature algorithm ${algorithm.algorithm} is not SM2-with-SM3`);
  }
  const parameters = algorithm.parameters ? new Uint8Array(algorithm.parameters) : undefined;
  if (parameters && !(parameters.length === 2 && parameters[0] === 0x05 && parameters[1] === 0)) {
    throw new Error('SM2-with-SM3 with parameters');
  }
}

/**
 * The schema parser skips SEQUENCE elements it has no field for and reads BER, so a message is
 * also re-encoded from what was parsed: anything but the same bytes is extra or non-DER content.
 * (The signature is still checked over the bytes received; this only refuses what is not DER.)
 */
export function requireDer(der: Uint8Array, parsed: object): void {
  if (!bytesEqual(new Uint8Array(AsnSerializer.serialize(parsed)), der)) {
    throw new Error('not DER, or elements the message does not define');
  }
}

/** Every failure of a decoder as PkiError(KM_MESSAGE_MALFORMED). */
export function decodeKmMessage<T>(what: string, decode: () => T): T {
  return malformed('KM_MESSAGE_MALFORMED', what, decode);
}
