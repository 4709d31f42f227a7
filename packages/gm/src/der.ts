import { AsnParser } from '@peculiar/asn1-schema';
import * as asn1js from 'asn1js';
import { GmError } from './gm-error.ts';

/**
 * Parses exactly one ASN.1 element into `type`. Unlike AsnParser.parse it rejects trailing bytes,
 * so two different byte strings can never decode to the same signed object.
 * Throws whatever the ASN.1 layer throws; callers turn that into their own error code.
 */
export function parseDer<T>(data: Uint8Array, type: new () => T): T {
  const { offset, result } = asn1js.fromBER(data);
  if (offset === -1 || result.error) throw new Error(`invalid DER: ${result.error || 'unparseable'}`);
  if (offset !== data.length) throw new Error('trailing bytes after the DER element');
  return AsnParser.fromASN(result, type);
}

/** Runs a decoder and reports anything it throws as GmError(code), keeping the cause. */
export function decodeOrThrow<T>(code: string, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new GmError(code, `${what}: ${detail}`, { cause: err });
  }
}

/**
 * DER INTEGER content octets for a non-negative big-endian value: leading zeros stripped,
 * one 0x00 added when the top bit is set so the value stays positive.
 */
export function encodeUnsignedInteger(value: Uint8Array): ArrayBuffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const trimmed = value.subarray(start);
  const out = new Uint8Array(trimmed.length + ((trimmed[0] ?? 0) & 0x80 ? 1 : 0));
  out.set(trimmed, out.length - trimmed.length);
  if (out.length === 0) return new Uint8Array([0]).buffer;
  return out.buffer;
}

/**
 * The value of DER INTEGER content octets as exactly `size` big-endian bytes, left-padded.
 * Rejects negative, non-minimally encoded and oversized values.
 */
export function decodeUnsignedInteger(content: Uint8Array, size: number): Uint8Array {
  const first = content[0];
  if (first === undefined) throw new Error('empty INTEGER');
  if (first & 0x80) throw new Error('negative INTEGER');
  if (content.length > 1 && first === 0 && ((content[1] ?? 0) & 0x80) === 0) {
    throw new Error('INTEGER not minimally encoded');
  }
  const magnitude = first === 0 ? content.subarray(1) : content;
  if (magnitude.length > size) throw new Error(`INTEGER longer than ${size} bytes`);
  const out = new Uint8Array(size);
  out.set(magnitude, size - magnitude.length);
  return out;
}
