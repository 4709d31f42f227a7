import { ECDSASigValue } from '@peculiar/asn1-ecc';
import { AsnConvert } from '@peculiar/asn1-schema';
import { DeviceError } from './device-error.ts';

const half = 32;

// ECDSASigValue serialises its bytes as given, so they must already be a minimal positive INTEGER.
function toInteger(unsigned: Uint8Array): Uint8Array {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const trimmed = unsigned.subarray(start);
  return (trimmed[0] ?? 0) & 0x80 ? Uint8Array.of(0, ...trimmed) : trimmed;
}

function fromInteger(integer: ArrayBuffer): Uint8Array {
  let bytes = new Uint8Array(integer);
  while (bytes.length > half && bytes[0] === 0) bytes = bytes.subarray(1);
  if (bytes.length > half) throw new DeviceError('DEVICE_BAD_INPUT', 'signature integer too long');
  const out = new Uint8Array(half);
  out.set(bytes, half - bytes.length);
  return out;
}

/** PKCS#11 EC signatures are r‖s; X.509 and GM/T 0009 want SEQUENCE { r, s }. */
export function rawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length !== 2 * half)
    throw new DeviceError('DEVICE_ERROR', `device returned a ${raw.length}-byte signature`);
  const value = new ECDSASigValue({
    r: Uint8Array.from(toInteger(raw.subarray(0, half))).buffer,
    s: Uint8Array.from(toInteger(raw.subarray(half))).buffer,
  });
  return new Uint8Array(AsnConvert.serialize(value));
}

export function derToRaw(der: Uint8Array): Uint8Array {
  let value: ECDSASigValue;
  try {
    value = AsnConvert.parse(der, ECDSASigValue);
  } catch (error) {
    throw new DeviceError('DEVICE_BAD_INPUT', 'signature is not DER SEQUENCE { r, s }', undefined, {
      cause: error,
    });
  }
  const raw = new Uint8Array(2 * half);
  raw.set(fromInteger(value.r), 0);
  raw.set(fromInteger(value.s), half);
  return raw;
}
