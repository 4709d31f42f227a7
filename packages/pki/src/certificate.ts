import { AsnIntegerArrayBufferConverter, AsnProp, AsnPropTypes, BitString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Extensions, Validity } from '@peculiar/asn1-x509';
import { parseDer } from '@sm2ca/gm';
import { malformed } from './malformed.ts';

// Re-exported for the CRL and OCSP parsers, which import it from here.
export { malformed };

/**
 * TBSCertificate whose issuer, subject and SPKI stay raw bytes: signatures are checked over the
 * bytes received, and names are compared and copied byte for byte, never re-encoded.
 */
class TbsCertificateAsn {
  version = 0;
  serialNumber = new ArrayBuffer(0);
  signature = new AlgorithmIdentifier();
  issuer = new ArrayBuffer(0);
  validity = new Validity();
  subject = new ArrayBuffer(0);
  subjectPublicKeyInfo = new ArrayBuffer(0);
  issuerUniqueID?: ArrayBuffer;
  subjectUniqueID?: ArrayBuffer;
  extensions?: Extensions;
}
AsnProp({ type: AsnPropTypes.Integer, context: 0, defaultValue: 0 })(TbsCertificateAsn.prototype, 'version');
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  TbsCertificateAsn.prototype,
  'serialNumber',
);
AsnProp({ type: AlgorithmIdentifier })(TbsCertificateAsn.prototype, 'signature');
AsnProp({ type: AsnPropTypes.Any })(TbsCertificateAsn.prototype, 'issuer');
AsnProp({ type: Validity })(TbsCertificateAsn.prototype, 'validity');
AsnProp({ type: AsnPropTypes.Any })(TbsCertificateAsn.prototype, 'subject');
AsnProp({ type: AsnPropTypes.Any })(TbsCertificateAsn.prototype, 'subjectPublicKeyInfo');
AsnProp({ type: AsnPropTypes.BitString, context: 1, implicit: true, optional: true })(
  TbsCertificateAsn.prototype,
  'issuerUniqueID',
);
AsnProp({ type: AsnPropTypes.BitString, context: 2, implicit: true, optional: true })(
  TbsCertificateAsn.prototype,
  'subjectUniqueID',
);
AsnProp({ type: Extensions, context: 3, optional: true })(TbsCertificateAsn.prototype, 'extensions');

class CertificateAsn {
  tbsCertificate = new TbsCertificateAsn();
  tbsCertificateRaw?: ArrayBuffer;
  signatureAlgorithm = new AlgorithmIdentifier();
  signatureValue = new BitString();
}
AsnProp({ type: TbsCertificateAsn, raw: true })(CertificateAsn.prototype, 'tbsCertificate');
AsnProp({ type: AlgorithmIdentifier })(CertificateAsn.prototype, 'signatureAlgorithm');
AsnProp({ type: BitString })(CertificateAsn.prototype, 'signatureValue');

export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** extnValue contents: the DER of the extension's own value. */
  value: Uint8Array;
}

export interface AlgorithmInfo {
  oid: string;
  /** DER of the parameters, absent when the field is. */
  parameters?: Uint8Array;
}

/** The fields of a TBSCertificate, with the encodings a linter needs to see kept. */
export interface ParsedTbsCertificate {
  /** The TBSCertificate exactly as received: the bytes the signature covers. */
  tbs: Uint8Array;
  /** 1, 2 or 3. */
  version: number;
  /** INTEGER content octets as encoded (two's complement, may carry a leading 0x00). */
  serialNumber: Uint8Array;
  /** Serial as lowercase hex without sign octet, the form stored and shown. */
  serialHex: string;
  tbsSignatureAlgorithm: AlgorithmInfo;
  /** DER Name, as in the certificate. */
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Which ASN.1 time type each bound uses (RFC 5280: UTCTime until 2049). */
  notBeforeType: 'utcTime' | 'generalTime';
  notAfterType: 'utcTime' | 'generalTime';
  /** DER SubjectPublicKeyInfo, as in the certificate. */
  spki: Uint8Array;
  hasUniqueIds: boolean;
  extensions: CertificateExtension[];
}

export interface ParsedCertificate extends ParsedTbsCertificate {
  /** The whole certificate as received. */
  der: Uint8Array;
  signatureAlgorithm: AlgorithmInfo;
  /** signatureValue BIT STRING contents: DER SM2 signature. */
  signature: Uint8Array;
}

/** Parses a DER certificate; throws PkiError(CERT_MALFORMED) on anything that is not one. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  return malformed('CERT_MALFORMED', 'certificate', () => {
    const cert = parseDer(der, CertificateAsn);
    if (!cert.tbsCertificateRaw) throw new Error('no tbsCertificate');
    if (cert.signatureValue.unusedBits !== 0) throw new Error('signature BIT STRING has unused bits');
    return {
      ...tbsFields(cert.tbsCertificate, new Uint8Array(cert.tbsCertificateRaw)),
      der: new Uint8Array(der),
      signatureAlgorithm: algorithmInfo(cert.signatureAlgorithm),
      signature: new Uint8Array(cert.signatureValue.value),
    };
  });
}

/** Parses a DER TBSCertificate; throws PkiError(TBS_MALFORMED). */
export function parseTbsCertificate(tbs: Uint8Array): ParsedTbsCertificate {
  return malformed('TBS_MALFORMED', 'TBSCertificate', () =>
    tbsFields(parseDer(tbs, TbsCertificateAsn), new Uint8Array(tbs)),
  );
}

export function findExtension(
  cert: Pick<ParsedTbsCertificate, 'extensions'>,
  oid: string,
): CertificateExtension | undefined {
  return cert.extensions.find((e) => e.oid === oid);
}

function tbsFields(asn: TbsCertificateAsn, tbs: Uint8Array): ParsedTbsCertificate {
  const serialNumber = new Uint8Array(asn.serialNumber);
  const { notBefore, notAfter } = asn.validity;
  const timeType = (t: typeof notBefore): 'utcTime' | 'generalTime' =>
    t.utcTime ? 'utcTime' : 'generalTime';
  return {
    tbs,
    version: asn.version + 1,
    serialNumber,
    serialHex: Buffer.from(
      serialNumber[0] === 0 && serialNumber.length > 1 ? serialNumber.subarray(1) : serialNumber,
    ).toString('hex'),
    tbsSignatureAlgorithm: algorithmInfo(asn.signature),
    issuer: new Uint8Array(asn.issuer),
    subject: new Uint8Array(asn.subject),
    notBefore: notBefore.getTime(),
    notAfter: notAfter.getTime(),
    notBeforeType: timeType(notBefore),
    notAfterType: timeType(notAfter),
    spki: new Uint8Array(asn.subjectPublicKeyInfo),
    hasUniqueIds: asn.issuerUniqueID !== undefined || asn.subjectUniqueID !== undefined,
    extensions: Array.from(asn.extensions ?? [], (e) => ({
      oid: e.extnID,
      critical: e.critical,
      value: new Uint8Array(e.extnValue.buffer),
    })),
  };
}

const NULL_DER = Uint8Array.of(0x05, 0x00);

function algorithmInfo(alg: AlgorithmIdentifier): AlgorithmInfo {
  // The ASN.1 layer turns NULL parameters into null and absent ones into undefined.
  if (alg.parameters === undefined) return { oid: alg.algorithm };
  return {
    oid: alg.algorithm,
    parameters: alg.parameters === null ? NULL_DER : new Uint8Array(alg.parameters),
  };
}
