import { PkiError } from './pki-error.ts';

/**
 * Minimal DER writer for the parts the ASN.1 schema library cannot do fast or byte-exactly:
 * a million CRL entries (the schema library would build a million objects) and envelopes that
 * must carry already-encoded bytes (certificates, signed TBS) verbatim.
 */

export const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;
export const TAG_SEQUENCE = 0x30;

/** Bytes a DER header (tag + length) takes for `length` content bytes. */
export function derHeaderLength(length: number): number {
  if (length < 0x80) return 2;
  if (length < 0x100) return 3;
  if (length < 0x10000) return 4;
  if (length < 0x1000000) return 5;
  return 6;
}

/** Writes tag and definite length at `offset`; returns the offset after the header. */
export function writeDerHeader(out: Uint8Array, offset: number, tag: number, length: number): number {
  out[offset++] = tag;
  if (length < 0x80) {
    out[offset++] = length;
    return offset;
  }
  const n = derHeaderLength(length) - 2;
  out[offset++] = 0x80 | n;
  for (let i = n - 1; i >= 0; i--) out[offset++] = Math.floor(length / 2 ** (8 * i)) & 0xff;
  return offset;
}

export function derHeader(tag: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(derHeaderLength(length));
  writeDerHeader(out, 0, tag, length);
  return out;
}

export function derTlv(tag: number, ...contents: Uint8Array[]): Buffer {
  let length = 0;
  for (const c of contents) length += c.length;
  return Buffer.concat([derHeader(tag, length), ...contents]);
}

/** DER BIT STRING with no unused bits, as signatures and public keys are. */
export function derBitString(bytes: Uint8Array): Buffer {
  return derTlv(TAG_BIT_STRING, Uint8Array.of(0), bytes);
}

/**
 * Content octets of a non-negative INTEGER. `Uint8Array` input is an unsigned big-endian
 * magnitude (as serial numbers are stored), so leading zeros go and a 0x00 is added when the
 * top bit is set.
 */
export function derIntegerContent(value: bigint | Uint8Array): Buffer {
  let magnitude: Uint8Array;
  if (typeof value === 'bigint') {
    if (value < 0n) throw new PkiError('INVALID_INTEGER', 'negative integers are not allowed here');
    const hex = value.toString(16);
    magnitude = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  } else {
    magnitude = value;
  }
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  if (trimmed.length === 0) return Buffer.of(0);
  return trimmed[0]! & 0x80 ? Buffer.concat([Buffer.of(0), trimmed]) : Buffer.from(trimmed);
}

export function derInteger(value: bigint | Uint8Array): Buffer {
  return derTlv(TAG_INTEGER, derIntegerContent(value));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; both to the second. */
export function derTimeLength(date: Date): number {
  return date.getUTCFullYear() < 2050 ? 15 : 17;
}

/** Writes a Time (RFC 5280 rule) at `offset`; returns the offset after it. */
export function writeDerTime(out: Uint8Array, offset: number, date: Date): number {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 1950 || year > 9999) {
    throw new PkiError('INVALID_TIME', `time out of range: ${String(date)}`);
  }
  if (year < 2050) {
    out[offset++] = TAG_UTC_TIME;
    out[offset++] = 13;
    offset = writeDigits(out, offset, year % 100, 2);
  } else {
    out[offset++] = TAG_GENERALIZED_TIME;
    out[offset++] = 15;
    offset = writeDigits(out, offset, year, 4);
  }
  return writeMonthToSecond(out, offset, date);
}

/** GeneralizedTime to the second, for fields RFC 5280/6960 fix to GeneralizedTime. */
export function writeDerGeneralizedTime(out: Uint8Array, offset: number, date: Date): number {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) {
    throw new PkiError('INVALID_TIME', `time out of range: ${String(date)}`);
  }
  out[offset++] = TAG_GENERALIZED_TIME;
  out[offset++] = 15;
  offset = writeDigits(out, offset, year, 4);
  return writeMonthToSecond(out, offset, date);
}

function writeMonthToSecond(out: Uint8Array, offset: number, date: Date): number {
  offset = writeDigits(out, offset, date.getUTCMonth() + 1, 2);
  offset = writeDigits(out, offset, date.getUTCDate(), 2);
  offset = writeDigits(out, offset, date.getUTCHours(), 2);
  offset = writeDigits(out, offset, date.getUTCMinutes(), 2);
  offset = writeDigits(out, offset, date.getUTCSeconds(), 2);
  out[offset++] = 0x5a;
  return offset;
}

function writeDigits(out: Uint8Array, offset: number, value: number, width: number): number {
  for (let i = width - 1; i >= 0; i--) {
    out[offset + i] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
  return offset + width;
}

const oidCache = new Map<string, Uint8Array>();

/** DER OBJECT IDENTIFIER; a profile uses a handful of OIDs, so each is encoded once. */
export function derOid(oid: string): Uint8Array {
  let der = oidCache.get(oid);
  if (!der) {
    const arcs = oid.split('.').map((arc) => BigInt(arc));
    if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) {
      throw new PkiError('OID_INVALID', `not an object identifier: ${oid}`);
    }
    const content: number[] = [];
    for (const arc of [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)]) {
      const base128 = [Number(arc & 0x7fn)];
      for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) base128.unshift(Number(rest & 0x7fn) | 0x80);
      content.push(...base128);
    }
    der = derTlv(0x06, Uint8Array.from(content));
    oidCache.set(oid, der);
  }
  return der;
}
