import type { AttributeValue } from '@peculiar/asn1-x509';
import { Name } from '@peculiar/asn1-x509';
import { parseDer } from '@sm2ca/gm';
import { childrenOf, contentOf, readTlv } from './crl-der-reader.ts';
import { derOid, derTlv, TAG_SEQUENCE } from './crl-der-writer.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';

export type DnAttributeType = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN' | 'serialNumber';

export interface DnAttribute {
  type: DnAttributeType;
  value: string;
}

export const DN_ATTRIBUTE_OIDS: Readonly<Record<DnAttributeType, string>> = {
  C: OIDS.countryName,
  ST: OIDS.stateOrProvinceName,
  L: OIDS.localityName,
  O: OIDS.organizationName,
  OU: OIDS.organizationalUnitName,
  CN: OIDS.commonName,
  serialNumber: OIDS.serialNumber,
};

const SHORT_NAMES: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(DN_ATTRIBUTE_OIDS).map(([k, v]) => [v, k])),
  [OIDS.emailAddress]: 'emailAddress',
};

/** Attribute types X.520 constrains to PrintableString; all others are written as UTF8String. */
const PRINTABLE_TYPES: ReadonlySet<string> = new Set([OIDS.countryName, OIDS.serialNumber]);
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const TAG_SET = 0x31;
const TAG_UTF8_STRING = 0x0c;
const TAG_PRINTABLE_STRING = 0x13;

export type DnStringType =
  | 'printableString'
  | 'utf8String'
  | 'teletexString'
  | 'universalString'
  | 'bmpString'
  | 'ia5String'
  | 'other';

export interface DecodedDnAttribute {
  oid: string;
  /** C, CN, … or the OID when the type has no short name here. */
  type: string;
  value: string;
  stringType: DnStringType;
}

/**
 * DER Name with one attribute per RDN in the order given; C and serialNumber as PrintableString,
 * everything else UTF8String (GM/T 0015 annex: UTF8String for Chinese text).
 */
export function encodeName(attributes: readonly DnAttribute[]): Uint8Array {
  const rdns = attributes.map(({ type, value }) => {
    const oid = DN_ATTRIBUTE_OIDS[type];
    if (oid === undefined) throw new PkiError('DN_INVALID', `unsupported DN attribute ${type}`);
    if (value.length === 0) throw new PkiError('DN_INVALID', `empty ${type}`);
    const printable = PRINTABLE_TYPES.has(oid);
    if (printable && !PRINTABLE.test(value)) {
      throw new PkiError('DN_INVALID', `${type} must be PrintableString characters`);
    }
    if (type === 'C' && !/^[A-Z]{2}$/.test(value)) {
      throw new PkiError('DN_INVALID', 'C must be a two-letter ISO 3166 code');
    }
    const string = derTlv(printable ? TAG_PRINTABLE_STRING : TAG_UTF8_STRING, Buffer.from(value, 'utf8'));
    return derTlv(TAG_SET, derTlv(TAG_SEQUENCE, derOid(oid), string));
  });
  // Written directly: the schema serializer's object model cost more than the rest of a TBS.
  return new Uint8Array(derTlv(TAG_SEQUENCE, ...rdns));
}

/** Throws PkiError(DN_MALFORMED) for anything that is not a Name. */
export function decodeName(der: Uint8Array): DecodedDnAttribute[] {
  const plain = readPlainName(der);
  if (plain) return plain;
  let name: Name;
  try {
    name = parseDer(der, Name);
  } catch (err) {
    throw new PkiError('DN_MALFORMED', `malformed Name: ${(err as Error).message}`, { cause: err });
  }
  return name.flatMap((rdn) =>
    rdn.map((atv) => {
      const v = atv.value;
      const [stringType, value] = stringOf(v);
      return { oid: atv.type, type: SHORT_NAMES[atv.type] ?? atv.type, value, stringType };
    }),
  );
}

/** DER OBJECT IDENTIFIER contents of the attribute types with a short name, to their dotted form. */
const SHORT_NAME_OIDS: ReadonlyMap<string, string> = new Map(
  Object.keys(SHORT_NAMES).map((oid) => [Buffer.from(derOid(oid).subarray(2)).toString('hex'), oid]),
);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The Name the CA itself writes and nearly every request carries (known attribute types,
 * UTF8String or ASCII PrintableString values), read with the strict DER reader; undefined for
 * anything else, which the schema decoder reads. The schema decoder cost more than the rest
 * of checking a request.
 */
function readPlainName(der: Uint8Array): DecodedDnAttribute[] | undefined {
  try {
    const name = readTlv(der, 0, der.length);
    if (name.tag !== 0x30 || name.end !== der.length) return undefined;
    const out: DecodedDnAttribute[] = [];
    for (const rdn of childrenOf(der, name)) {
      if (rdn.tag !== 0x31) return undefined;
      for (const atv of childrenOf(der, rdn)) {
        const parts = atv.tag === 0x30 ? childrenOf(der, atv) : [];
        const [type, value] = parts;
        if (parts.length !== 2 || type!.tag !== 0x06) return undefined;
        const oid = SHORT_NAME_OIDS.get(Buffer.from(contentOf(der, type!)).toString('hex'));
        const bytes = contentOf(der, value!);
        if (!oid) return undefined;
        let text: string;
        let stringType: DnStringType;
        if (value!.tag === 0x0c) {
          text = utf8.decode(bytes);
          stringType = 'utf8String';
        } else if (value!.tag === 0x13 && bytes.every((b) => b < 0x80)) {
          text = Buffer.from(bytes).toString('latin1');
          stringType = 'printableString';
        } else {
          return undefined;
        }
        out.push({ oid, type: SHORT_NAMES[oid]!, value: text, stringType });
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

function stringOf(v: AttributeValue): [DnStringType, string] {
  if (v.printableString !== undefined) return ['printableString', v.printableString];
  if (v.utf8String !== undefined) return ['utf8String', v.utf8String];
  if (v.teletexString !== undefined) return ['teletexString', v.teletexString];
  if (v.universalString !== undefined) return ['universalString', v.universalString];
  if (v.bmpString !== undefined) return ['bmpString', v.bmpString];
  if (v.ia5String !== undefined) return ['ia5String', v.ia5String];
  return ['other', v.toString()];
}

/** "C=CN, O=…, CN=…" in encoding order, for logs and CLI output. */
export function nameToString(der: Uint8Array): string {
  return decodeName(der)
    .map((a) => `${a.type}=${a.value}`)
    .join(', ');
}

export function isPrintableString(value: string): boolean {
  return PRINTABLE.test(value);
}
