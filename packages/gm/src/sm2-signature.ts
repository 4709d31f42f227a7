import { AsnIntegerArrayBufferConverter, AsnProp, AsnPropTypes, AsnSerializer } from '@peculiar/asn1-schema';
import { decodeOrThrow, decodeUnsignedInteger, encodeUnsignedInteger, parseDer } from './der.ts';
import { GmError } from './gm-error.ts';

/** GM/T 0009 SM2Signature ::= SEQUENCE { r INTEGER, s INTEGER } */
class Sm2SignatureAsn {
  r = new ArrayBuffer(0);
  s = new ArrayBuffer(0);
}
for (const field of ['r', 's']) {
  AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
    Sm2SignatureAsn.prototype,
    field,
  );
}

export interface Sm2Signature {
  /** 32 bytes, big-endian. */
  r: Uint8Array;
  /** 32 bytes, big-endian. */
  s: Uint8Array;
}

export function encodeSm2Signature({ r, s }: Sm2Signature): Uint8Array {
  if (r.length !== 32 || s.length !== 32) {
    throw new GmError('SM2_SIGNATURE_INVALID', 'r and s must be 32 bytes each');
  }
  const asn = new Sm2SignatureAsn();
  asn.r = encodeUnsignedInteger(r);
  asn.s = encodeUnsignedInteger(s);
  return new Uint8Array(AsnSerializer.serialize(asn));
}

export function decodeSm2Signature(der: Uint8Array): Sm2Signature {
  return decodeOrThrow('SM2_SIGNATURE_MALFORMED', 'malformed SM2 signature', () => {
    const asn = parseDer(der, Sm2SignatureAsn);
    const r = decodeUnsignedInteger(new Uint8Array(asn.r), 32);
    const s = decodeUnsignedInteger(new Uint8Array(asn.s), 32);
    if (r.every((b) => b === 0) || s.every((b) => b === 0)) throw new Error('r or s is zero');
    return { r, s };
  });
}
