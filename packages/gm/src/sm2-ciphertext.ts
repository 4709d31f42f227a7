import {
  AsnIntegerArrayBufferConverter,
  AsnProp,
  AsnPropTypes,
  AsnSerializer,
  OctetString,
} from '@peculiar/asn1-schema';
import { concatBytes } from './bytes.ts';
import { decodeOrThrow, decodeUnsignedInteger, encodeUnsignedInteger, parseDer } from './der.ts';
import { GmError } from './gm-error.ts';
import { assertSm2PublicKey } from './sm2-public-key.ts';

/** GM/T 0009 SM2Cipher ::= SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING, ciphertext OCTET STRING } */
export class Sm2CipherAsn {
  x = new ArrayBuffer(0);
  y = new ArrayBuffer(0);
  hash = new OctetString();
  ciphertext = new OctetString();
}
for (const field of ['x', 'y']) {
  AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
    Sm2CipherAsn.prototype,
    field,
  );
}
for (const field of ['hash', 'ciphertext']) AsnProp({ type: OctetString })(Sm2CipherAsn.prototype, field);

/** Minimum raw length: C1 (65) + C3 (32). */
const HEADER = 97;

export function sm2CipherAsnFromRaw(raw: Uint8Array): Sm2CipherAsn {
  if (raw.length < HEADER || raw[0] !== 0x04) {
    throw new GmError('SM2_CIPHERTEXT_INVALID', 'raw SM2 ciphertext must be 04||X||Y||C3||C2');
  }
  const asn = new Sm2CipherAsn();
  asn.x = encodeUnsignedInteger(raw.subarray(1, 33));
  asn.y = encodeUnsignedInteger(raw.subarray(33, 65));
  asn.hash = new OctetString(raw.slice(65, HEADER));
  asn.ciphertext = new OctetString(raw.slice(HEADER));
  return asn;
}

/** Throws plain errors; callers map them to their own code. */
export function sm2CipherAsnToRaw(asn: Sm2CipherAsn): Uint8Array {
  const x = decodeUnsignedInteger(new Uint8Array(asn.x), 32);
  const y = decodeUnsignedInteger(new Uint8Array(asn.y), 32);
  const hash = new Uint8Array(asn.hash.buffer);
  if (hash.length !== 32) throw new Error('hash (C3) must be 32 bytes');
  const c1 = concatBytes(new Uint8Array([0x04]), x, y);
  assertSm2PublicKey(c1);
  return concatBytes(c1, hash, new Uint8Array(asn.ciphertext.buffer));
}

/** DER SM2Cipher from the raw form C1‖C3‖C2 (C1 = 04‖X‖Y). */
export function encodeSm2Ciphertext(raw: Uint8Array): Uint8Array {
  return new Uint8Array(AsnSerializer.serialize(sm2CipherAsnFromRaw(raw)));
}

/** Raw C1‖C3‖C2 from DER SM2Cipher; short INTEGERs are left-padded to 32 bytes. */
export function decodeSm2Ciphertext(der: Uint8Array): Uint8Array {
  return decodeOrThrow('SM2_CIPHERTEXT_MALFORMED', 'malformed SM2 ciphertext', () =>
    sm2CipherAsnToRaw(parseDer(der, Sm2CipherAsn)),
  );
}
