import { decodeName } from '@sm2ca/pki';
import type { Config } from './config.ts';

/** One relative distinguished name in LDAP spelling: `{ type: 'cn', value: '张三' }`. */
export interface Rdn {
  type: string;
  value: string;
}

const LDAP_TYPES: Readonly<Record<string, string>> = {
  C: 'c',
  ST: 'st',
  L: 'l',
  O: 'o',
  OU: 'ou',
  CN: 'cn',
  serialNumber: 'serialNumber',
};

/** An X.509 Name (DER) as LDAP RDNs, most specific first (RFC 4514 order). */
export function rdnsOfName(der: Uint8Array): Rdn[] {
  return decodeName(der)
    .map((a) => ({ type: LDAP_TYPES[a.type] ?? a.oid, value: a.value }))
    .reverse();
}

/** RFC 4514 string form: `cn=张三,ou=…,o=…,c=CN`, special characters escaped. */
export function formatDn(rdns: readonly Rdn[]): string {
  return rdns.map((r) => `${r.type}=${escapeValue(r.value)}`).join(',');
}

function escapeValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/\0/g, '\\00')
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** Parses a DN string as configured (`o=SM2CA,c=CN`): single-valued RDNs, `\,` and `\2C` escapes of ASCII. */
export function parseDn(dn: string): Rdn[] {
  const rdns: Rdn[] = [];
  let type = '';
  let value = '';
  let inValue = false;
  const push = () => {
    if (type.trim() === '') return;
    rdns.push({ type: type.trim(), value: value.trim() });
    type = '';
    value = '';
    inValue = false;
  };
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) {
      const hex = dn.slice(i + 1, i + 3);
      const isHex = /^[0-9a-fA-F]{2}$/.test(hex);
      const escaped = isHex ? String.fromCharCode(Number.parseInt(hex, 16)) : dn[i + 1]!;
      i += isHex ? 2 : 1;
      if (inValue) value += escaped;
      else type += escaped;
    } else if (c === ',' || c === ';') {
      push();
    } else if (c === '=' && !inValue) {
      inValue = true;
    } else if (inValue) {
      value += c;
    } else {
      type += c;
    }
  }
  push();
  return rdns;
}

function sameRdn(a: Rdn, b: Rdn): boolean {
  return a.type.toLowerCase() === b.type.toLowerCase() && a.value.toLowerCase() === b.value.toLowerCase();
}

/**
 * The entry of a name under the base DN: the name's RDNs, less the tail it shares with the
 * base, then the base. With base `c=CN`, "C=CN, O=部委, CN=张三" is `cn=张三,o=部委,c=CN`.
 */
export function entryUnderBase(rdns: readonly Rdn[], base: readonly Rdn[]): Rdn[] {
  let shared = 0;
  while (
    shared < rdns.length &&
    shared < base.length &&
    sameRdn(rdns[rdns.length - 1 - shared]!, base[base.length - 1 - shared]!)
  ) {
    shared++;
  }
  return [...rdns.slice(0, rdns.length - shared), ...base];
}

export type DirectoryLayout = Pick<Config['directory'], 'baseDn' | 'holderEntry'>;

/** The entry a holder's certificates go to, from the certificate's subject (DER). */
export function holderEntry(subject: Uint8Array, layout: DirectoryLayout): Rdn[] {
  const rdns = rdnsOfName(subject);
  const base = parseDn(layout.baseDn);
  const cn = rdns.find((r) => r.type === 'cn');
  if (layout.holderEntry === 'commonName' && cn) return [cn, ...base];
  return entryUnderBase(rdns, base);
}

/** The entry of a CA (its certificates and CRLs): always its whole name under the base. */
export function caEntry(subject: Uint8Array, layout: DirectoryLayout): Rdn[] {
  return entryUnderBase(rdnsOfName(subject), parseDn(layout.baseDn));
}

/** An RFC 4516 URL of a CA entry's attribute: `ldap://host/cn=…,c=CN?certificateRevocationList;binary`. */
export function ldapAttributeUrl(directoryUrl: string, entry: readonly Rdn[], attribute: string): string {
  const dn = encodeURIComponent(formatDn(entry)).replace(/%3D/g, '=').replace(/%2C/g, ',');
  return `${directoryUrl.replace(/\/+$/, '')}/${dn}?${attribute}`;
}
