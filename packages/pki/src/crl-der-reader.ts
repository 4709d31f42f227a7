/**
 * Minimal strict DER reader for walking large CRLs without materialising every entry.
 * Throws plain Errors; the CRL parser reports them as PkiError(CRL_MALFORMED).
 */

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  contentStart: number;
  end: number;
}

/** Reads the element at `offset`, which must end by `limit`. */
export function readTlv(data: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new Error('truncated DER element');
  const tag = data[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('high tag numbers are not used here');
  let at = offset + 1;
  const first = data[at++]!;
  let length = first;
  if (first & 0x80) {
    const octets = first & 0x7f;
    if (octets === 0) throw new Error('indefinite length is not DER');
    if (octets > 4) throw new Error('element too long');
    if (at + octets > limit) throw new Error('truncated length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + data[at++]!;
    if (length < 0x80) throw new Error('length not minimally encoded');
  }
  const end = at + length;
  if (end > limit) throw new Error('element runs past its container');
  return { tag, start: offset, contentStart: at, end };
}

export function expectTag(tlv: Tlv, tag: number, what: string): Tlv {
  if (tlv.tag !== tag)
    throw new Error(`${what}: expected tag 0x${tag.toString(16)}, got 0x${tlv.tag.toString(16)}`);
  return tlv;
}

/** The elements inside a constructed element, in order. */
export function childrenOf(data: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const child = readTlv(data, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

export function contentOf(data: Uint8Array, tlv: Tlv): Uint8Array {
  return data.subarray(tlv.contentStart, tlv.end);
}

/** Non-negative INTEGER (serials, CRL numbers). */
export function readUnsignedInteger(data: Uint8Array, tlv: Tlv): bigint {
  const content = contentOf(data, expectTag(tlv, 0x02, 'INTEGER'));
  if (content.length === 0) throw new Error('empty INTEGER');
  if (content[0]! & 0x80) throw new Error('negative INTEGER');
  if (content.length > 1 && content[0] === 0 && !(content[1]! & 0x80)) {
    throw new Error('INTEGER not minimally encoded');
  }
  return content.length === 1 ? BigInt(content[0]!) : BigInt(`0x${Buffer.from(content).toString('hex')}`);
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** UTCTime or GeneralizedTime in the RFC 5280 form: to the second, in UTC. */
export function readTime(data: Uint8Array, tlv: Tlv): Date {
  const text = Buffer.from(contentOf(data, tlv)).toString('latin1');
  const pattern = tlv.tag === 0x17 ? UTC_TIME : tlv.tag === 0x18 ? GENERALIZED_TIME : undefined;
  const match = pattern?.exec(text);
  if (!match) throw new Error(`invalid time ${JSON.stringify(text)}`);
  const digits = Number(match[1]);
  // RFC 5280 4.1.2.5.1: two-digit years 50-99 are 19xx.
  const year = tlv.tag === 0x18 ? digits : digits < 50 ? 2000 + digits : 1900 + digits;
  const [month, day, hour, minute, second] = match.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    throw new Error(`invalid time ${JSON.stringify(text)}`);
  }
  return date;
}
