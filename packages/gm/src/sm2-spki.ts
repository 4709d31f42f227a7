import { ECParameters } from '@peculiar/asn1-ecc';
import { AsnProp, BitString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { bytesEqual } from './bytes.ts';
import { decodeOrThrow, parseDer } from './der.ts';
import { GmError } from './gm-error.ts';
import { GM_OIDS } from './oids.ts';
import { assertSm2PublicKey } from './sm2-public-key.ts';

/** SubjectPublicKeyInfo keeping the BIT STRING's unused-bits count, which must be 0 for a key. */
class SpkiAsn {
  algorithm = new AlgorithmIdentifier();
  subjectPublicKey = new BitString();
}
AsnProp({ type: AlgorithmIdentifier })(SpkiAsn.prototype, 'algorithm');
AsnProp({ type: BitString })(SpkiAsn.prototype, 'subjectPublicKey');

const NULL_DER = [0x05, 0x00];

/** SPKI DER for a 65-byte SM2 public key: id-ecPublicKey with namedCurve SM2 (GM/T 0015). */
export function encodeSm2Spki(publicKey: Uint8Array): Uint8Array {
  assertSm2PublicKey(publicKey);
  // The fixed prefix, not the schema serializer: the CA encodes a key several times per
  // certificate, and the serializer's object model cost more than the curve check.
  const spki = new Uint8Array(GM_SPKI_PREFIX.length + 65);
  spki.set(GM_SPKI_PREFIX);
  spki.set(publicKey, GM_SPKI_PREFIX.length);
  return spki;
}

/**
 * The 65-byte public key of an SM2 SPKI. Accepts id-ecPublicKey + namedCurve SM2, and the SM2
 * OID as algorithm (OpenSSL 3 writes it) with absent, NULL or SM2 namedCurve parameters.
 */
export function decodeSm2Spki(spkiDer: Uint8Array): Uint8Array {
  // Nearly every key arrives in the one form encodeSm2Spki writes: its bytes are the whole
  // check, and the schema decoder, which cost several times the rest of a certificate lint, is
  // left for the other forms.
  if (
    spkiDer.length === GM_SPKI_PREFIX.length + 65 &&
    bytesEqual(spkiDer.subarray(0, GM_SPKI_PREFIX.length), GM_SPKI_PREFIX)
  ) {
    return checkedPublicKey(spkiDer.slice(GM_SPKI_PREFIX.length));
  }
  const spki = decodeOrThrow('SPKI_MALFORMED', 'malformed SubjectPublicKeyInfo', () =>
    parseDer(spkiDer, SpkiAsn),
  );
  const { algorithm, parameters } = spki.algorithm;
  const params = parameters ? new Uint8Array(parameters) : undefined;
  if (algorithm === GM_OIDS.ecPublicKey) {
    if (!params) throw new GmError('SPKI_UNSUPPORTED_CURVE', 'EC public key without a named curve');
    const curve = namedCurve(params);
    if (curve !== GM_OIDS.sm2) {
      throw new GmError('SPKI_UNSUPPORTED_CURVE', `EC curve ${curve ?? '(explicit parameters)'} is not SM2`);
    }
  } else if (algorithm === GM_OIDS.sm2) {
    const isNull = params?.length === 2 && params[0] === NULL_DER[0] && params[1] === NULL_DER[1];
    if (params && !isNull && namedCurve(params) !== GM_OIDS.sm2) {
      throw new GmError('SPKI_UNSUPPORTED_CURVE', 'SM2 key with parameters other than the SM2 curve');
    }
  } else {
    throw new GmError('SPKI_UNSUPPORTED_ALGORITHM', `public key algorithm ${algorithm} is not SM2`);
  }
  if (spki.subjectPublicKey.unusedBits !== 0) {
    throw new GmError('SPKI_MALFORMED', 'public key BIT STRING has unused bits');
  }
  return checkedPublicKey(new Uint8Array(spki.subjectPublicKey.value));
}

/** SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve SM2 }, BIT STRING (no unused bits) 04‖X‖Y }, up to the point. */
const GM_SPKI_PREFIX = Uint8Array.from(
  Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex'),
);

function checkedPublicKey(publicKey: Uint8Array): Uint8Array {
  try {
    assertSm2PublicKey(publicKey);
  } catch (err) {
    throw new GmError('SPKI_MALFORMED', (err as Error).message, { cause: err });
  }
  return publicKey;
}

function namedCurve(params: Uint8Array): string | undefined {
  return decodeOrThrow('SPKI_MALFORMED', 'malformed EC parameters', () => parseDer(params, ECParameters))
    .namedCurve;
}
