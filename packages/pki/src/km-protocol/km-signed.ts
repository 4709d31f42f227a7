import type { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { parseDer } from '@sm2ca/gm';
import { derTlv, TAG_SEQUENCE } from '../crl-der-writer.ts';
import { SM2_WITH_SM3_ALGORITHM } from '../crl-ocsp-algorithms.ts';
import { malformed } from '../malformed.ts';
import { OIDS } from '../oids.ts';
import type { Signer } from '../signer.ts';
import { requireDer, smallUintFromInteger } from './km-fields.ts';

const TAG_OCTET_STRING = 0x04;

/** Version 1 is what every public implementation sends (gm-java calls it "V2"). */
export const KM_PROTOCOL_VERSION = 1;

/**
 * A parsed CARequest or KMRespond: `tbs` its KSRequest or KSRespond, `tbsRaw` the same as
 * received (what the signature covers).
 */
export interface SignedKmAsn<Tbs> {
  tbs: Tbs;
  tbsRaw?: ArrayBuffer;
  sigAlg: AlgorithmIdentifier;
  signature: ArrayBuffer;
}

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
 * Reads a CARequest or KMRespond: DER only, SM2-with-SM3, our protocol version; `read` makes the
 * message of its KSRequest or KSRespond. Every failure is PkiError(KM_MESSAGE_MALFORMED).
 */
export function decodeSignedKmMessage<Tbs extends { version: ArrayBuffer }, T>(
  what: 'CARequest' | 'KMRespond',
  der: Uint8Array,
  schema: new () => SignedKmAsn<Tbs>,
  read: (tbs: Tbs) => T,
): { message: T; tbs: Uint8Array; signature: Uint8Array } {
  return malformed('KM_MESSAGE_MALFORMED', what, () => {
    const asn = parseDer(der, schema);
    requireDer(der, asn);
    if (!asn.tbsRaw) throw new Error(`${what} without its signed part`);
    checkSignatureAlgorithm(asn.sigAlg);
    if (smallUintFromInteger(asn.tbs.version) !== KM_PROTOCOL_VERSION) {
      throw new Error(`unknown ${what} version`);
    }
    return {
      message: read(asn.tbs),
      tbs: new Uint8Array(asn.tbsRaw),
      signature: new Uint8Array(asn.signature),
    };
  });
}
