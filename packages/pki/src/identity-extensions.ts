import { AsnProp, AsnPropTypes, AsnSerializer, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema';
import { parseDer } from '@sm2ca/gm';
import type { CertificateExtension } from './certificate.ts';
import { isPrintableString } from './name.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';

/** GM/T 0015 holder identity numbers, each carried in its own non-critical extension. */
export interface IdentityInfo {
  /** 个人身份标识码 */
  identifyCode?: { type: IdentifyCodeType; value: string };
  /** 社会保险号 */
  insuranceNumber?: string;
  /** 工商注册号 */
  icRegistrationNumber?: string;
  /** 组织机构代码 */
  organizationCode?: string;
  /** 税号 */
  taxationNumber?: string;
  /** 统一社会信用代码 (GM/T 0015-2023) */
  unifiedSocialCreditCode?: string;
}

export type IdentifyCodeType = 'residentCard' | 'militaryOfficerCard' | 'passport';

export const IDENTITY_EXTENSION_OIDS: Readonly<Record<keyof IdentityInfo, string>> = {
  identifyCode: OIDS.identifyCode,
  insuranceNumber: OIDS.insuranceNumber,
  icRegistrationNumber: OIDS.icRegistrationNumber,
  organizationCode: OIDS.organizationCode,
  taxationNumber: OIDS.taxationNumber,
  unifiedSocialCreditCode: OIDS.unifiedSocialCreditCode,
};

const FIELD_BY_OID = new Map(
  Object.entries(IDENTITY_EXTENSION_OIDS).map(([k, v]) => [v, k as keyof IdentityInfo]),
);

/** IdentifyCode ::= CHOICE { [0] residenterCardNumber PrintableString, [1] militaryOfficerCardNumber UTF8String, [2] passportNumber PrintableString } */
function identifyCodeClass(implicit: boolean) {
  class IdentifyCode {
    residentCard?: string;
    militaryOfficerCard?: string;
    passport?: string;
  }
  const fields: [IdentifyCodeType, AsnPropTypes][] = [
    ['residentCard', AsnPropTypes.PrintableString],
    ['militaryOfficerCard', AsnPropTypes.Utf8String],
    ['passport', AsnPropTypes.PrintableString],
  ];
  fields.forEach(([field, type], context) => {
    AsnProp({ type, context, implicit })(IdentifyCode.prototype, field);
  });
  AsnType({ type: AsnTypeTypes.Choice })(IdentifyCode);
  return IdentifyCode;
}
// XiPKI tags the CHOICE explicitly; we emit that and also accept implicit tags.
const IdentifyCodeExplicit = identifyCodeClass(false);
const IdentifyCodeImplicit = identifyCodeClass(true);

class PrintableValue {
  value = '';
}
AsnProp({ type: AsnPropTypes.PrintableString })(PrintableValue.prototype, 'value');
AsnType({ type: AsnTypeTypes.Choice })(PrintableValue);

export function identityExtensions(info: IdentityInfo): CertificateExtension[] {
  const out: CertificateExtension[] = [];
  for (const field of Object.keys(IDENTITY_EXTENSION_OIDS) as (keyof IdentityInfo)[]) {
    const v = info[field];
    if (v === undefined) continue;
    const oid = IDENTITY_EXTENSION_OIDS[field];
    if (typeof v === 'string') {
      checkPrintable(field, v);
      const value = Object.assign(new PrintableValue(), { value: v });
      out.push({ oid, critical: false, value: new Uint8Array(AsnSerializer.serialize(value)) });
    } else {
      if (v.type !== 'militaryOfficerCard') checkPrintable(field, v.value);
      const code = Object.assign(new IdentifyCodeExplicit(), { [v.type]: v.value });
      out.push({ oid, critical: false, value: new Uint8Array(AsnSerializer.serialize(code)) });
    }
  }
  return out;
}

/** Decodes every identity extension present; throws PkiError(IDENTITY_EXTENSION_MALFORMED). */
export function decodeIdentityExtensions(extensions: readonly CertificateExtension[]): IdentityInfo {
  const info: IdentityInfo = {};
  for (const ext of extensions) {
    const field = FIELD_BY_OID.get(ext.oid);
    if (!field) continue;
    if (field === 'identifyCode') info.identifyCode = decodeIdentifyCode(ext.value);
    else info[field] = decodePrintable(field, ext.value);
  }
  return info;
}

export function isIdentityExtension(oid: string): boolean {
  return FIELD_BY_OID.has(oid);
}

function decodeIdentifyCode(value: Uint8Array): { type: IdentifyCodeType; value: string } {
  for (const type of [IdentifyCodeExplicit, IdentifyCodeImplicit]) {
    let code: InstanceType<typeof type>;
    try {
      code = parseDer(value, type);
    } catch {
      continue;
    }
    for (const field of ['residentCard', 'militaryOfficerCard', 'passport'] as const) {
      const v = code[field];
      if (typeof v === 'string' && v.length > 0) return { type: field, value: v };
    }
  }
  throw new PkiError('IDENTITY_EXTENSION_MALFORMED', 'IdentifyCode is not a CHOICE of [0]/[1]/[2] strings');
}

function decodePrintable(field: string, value: Uint8Array): string {
  let decoded: string;
  try {
    decoded = parseDer(value, PrintableValue).value;
  } catch (err) {
    throw new PkiError('IDENTITY_EXTENSION_MALFORMED', `${field} must be a PrintableString`, { cause: err });
  }
  if (decoded.length === 0 || !isPrintableString(decoded)) {
    throw new PkiError('IDENTITY_EXTENSION_MALFORMED', `${field} is empty or not PrintableString characters`);
  }
  return decoded;
}

function checkPrintable(field: string, value: string): void {
  if (value.length === 0 || !isPrintableString(value)) {
    throw new PkiError('IDENTITY_INVALID', `${field} must be non-empty PrintableString characters`);
  }
}
