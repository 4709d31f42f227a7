import { AsnSerializer } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
import { parseDer } from '@sm2ca/gm';
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
    const attributeValue = new AttributeValue(printable ? { printableString: value } : { utf8String: value });
    return new RelativeDistinguishedName([new AttributeTypeAndValue({ type: oid, value: attributeValue })]);
  });
  return new Uint8Array(AsnSerializer.serialize(new Name(rdns)));
}

/** Throws PkiError(DN_MALFORMED) for anything that is not a Name. */
export function decodeName(der: Uint8Array): DecodedDnAttribute[] {
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
