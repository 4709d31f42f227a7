/** DER TLV with a definite length; OCSP responses stay far below 64 KiB. */
export function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  let length = 0;
  for (const content of contents) length += content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.of(tag, length);
  else if (length < 0x100) header = Buffer.of(tag, 0x81, length);
  else if (length < 0x10000) header = Buffer.of(tag, 0x82, length >> 8, length & 0xff);
  else throw new RangeError(`DER value of ${length} octets`);
  return Buffer.concat([header, ...contents]);
}

/** GeneralizedTime YYYYMMDDHHMMSSZ, whole seconds (fractions dropped, as RFC 5280 wants). */
export function generalizedTime(date: Date): Buffer {
  const text = date.toISOString();
  const digits = `${text.slice(0, 4)}${text.slice(5, 7)}${text.slice(8, 10)}${text.slice(11, 13)}${text.slice(14, 16)}${text.slice(17, 19)}Z`;
  return tlv(0x18, Buffer.from(digits, 'latin1'));
}
