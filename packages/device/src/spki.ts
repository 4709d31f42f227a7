import { ECParameters } from '@peculiar/asn1-ecc';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { DeviceError } from './device-error.ts';

const idEcPublicKey = '1.2.840.10045.2.1';
// OpenSSL 3 writes the SM2 curve OID as the SPKI algorithm itself; GM/T 0015 says id-ecPublicKey.
const sm2Algorithm = '1.2.156.10197.1.301';

const ecParamsByCurve = new Map<string, Buffer>();

/**
 * CKA_EC_PARAMS for a named curve: the DER OBJECT IDENTIFIER. Encoded once per curve, since every
 * public key imported for a verification carries it; callers only hand it to the device.
 */
export function ecParams(curveOid: string): Buffer {
  let params = ecParamsByCurve.get(curveOid);
  if (!params) {
    params = Buffer.from(AsnConvert.serialize(new ECParameters({ namedCurve: curveOid })));
    ecParamsByCurve.set(curveOid, params);
  }
  return params;
}

/** The uncompressed point 04‖X‖Y from CKA_EC_POINT, which most devices wrap in an OCTET STRING. */
export function pointFromEcPoint(ecPoint: Uint8Array): Uint8Array {
  if (ecPoint.length === 65 && ecPoint[0] === 0x04) return ecPoint;
  return new Uint8Array(AsnConvert.parse(ecPoint, OctetString).buffer);
}

export function ecPointFromPoint(point: Uint8Array, format: 'octet-string' | 'raw'): Buffer {
  if (format === 'raw') return Buffer.from(point);
  // A point is far shorter than 128 bytes: tag and one length byte, without the schema encoder.
  if (point.length < 0x80) return Buffer.concat([Buffer.from([0x04, point.length]), point]);
  return Buffer.from(AsnConvert.serialize(new OctetString(point)));
}

export function encodeSpki(curveOid: string, point: Uint8Array): Uint8Array {
  const spki = new SubjectPublicKeyInfo({
    algorithm: new AlgorithmIdentifier({
      algorithm: idEcPublicKey,
      parameters: new Uint8Array(ecParams(curveOid)).buffer,
    }),
    subjectPublicKey: Uint8Array.from(point).buffer,
  });
  return new Uint8Array(AsnConvert.serialize(spki));
}

/** Per curve, what encodeSpki writes before the 65-byte point. */
const spkiPrefixes = new Map<string, Uint8Array>();

function spkiPrefix(curveOid: string): Uint8Array {
  let prefix = spkiPrefixes.get(curveOid);
  if (!prefix) {
    const point = new Uint8Array(65);
    point[0] = 0x04;
    prefix = encodeSpki(curveOid, point).slice(0, -65);
    spkiPrefixes.set(curveOid, prefix);
  }
  return prefix;
}

/** The public point of an EC SubjectPublicKeyInfo on `curveOid`. */
export function decodeSpki(der: Uint8Array, curveOid: string): Uint8Array {
  // Nearly every key comes in the form encodeSpki writes, whose bytes before the point are the
  // whole check: the schema decoder, a good part of a CSR verification, is left for other forms.
  const prefix = spkiPrefix(curveOid);
  if (
    der.length === prefix.length + 65 &&
    der[prefix.length] === 0x04 &&
    Buffer.from(prefix).equals(der.subarray(0, prefix.length))
  ) {
    return der.slice(prefix.length);
  }
  let spki: SubjectPublicKeyInfo;
  try {
    spki = AsnConvert.parse(der, SubjectPublicKeyInfo);
  } catch (error) {
    throw new DeviceError('DEVICE_BAD_INPUT', 'public key is not a SubjectPublicKeyInfo', undefined, {
      cause: error,
    });
  }
  const { algorithm, parameters } = spki.algorithm;
  const curve =
    algorithm === idEcPublicKey && parameters
      ? AsnConvert.parse(parameters, ECParameters).namedCurve
      : algorithm === sm2Algorithm
        ? sm2Algorithm
        : undefined;
  if (curve !== curveOid) {
    throw new DeviceError(
      'DEVICE_BAD_INPUT',
      `public key is not on curve ${curveOid} (${curve ?? algorithm})`,
    );
  }
  const point = new Uint8Array(spki.subjectPublicKey);
  if (point.length !== 65 || point[0] !== 0x04) {
    throw new DeviceError('DEVICE_BAD_INPUT', 'public key is not an uncompressed 256-bit point');
  }
  return point;
}
