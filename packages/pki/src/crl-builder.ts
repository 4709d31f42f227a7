import { AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  DistributionPoint,
  DistributionPointName,
  Extension,
  Extensions,
  FreshestCRL,
  GeneralName,
  IssuingDistributionPoint,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_deltaCRLIndicator,
  id_ce_freshestCRL,
  id_ce_issuingDistributionPoint,
  KeyIdentifier,
} from '@peculiar/asn1-x509';
import {
  derBitString,
  derHeader,
  derHeaderLength,
  derInteger,
  derTlv,
  TAG_SEQUENCE,
} from './crl-der-writer.ts';
import { type CrlEntry, CrlEntryWriter } from './crl-entry-writer.ts';
import { SM2_WITH_SM3_ALGORITHM } from './crl-ocsp-algorithms.ts';
import { PkiError } from './pki-error.ts';
import type { PartsSigner } from './signer.ts';
import { toAsnTime } from './time.ts';

export interface IssuingDistributionPointOptions {
  /** URIs of this partition (the distributionPoint fullName). */
  uris?: string[];
  onlyContainsUserCerts?: boolean;
  onlyContainsCACerts?: boolean;
  onlyContainsAttributeCerts?: boolean;
  indirectCrl?: boolean;
}

export interface CrlOptions {
  /** DER Name of the issuer certificate's subject; copied byte-for-byte so name matching works. */
  issuerName: Uint8Array;
  /** The issuer certificate's subjectKeyIdentifier. */
  authorityKeyIdentifier: Uint8Array;
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** CRL number of the full CRL this delta is based on; makes the CRL a delta CRL. */
  baseCrlNumber?: bigint;
  /** Marks the CRL as covering a partition (extension is critical, RFC 5280 5.2.5). */
  issuingDistributionPoint?: IssuingDistributionPointOptions;
  /** Where the delta CRLs for this full CRL are published (freshestCRL, RFC 5280 5.2.6). */
  freshestCrlUris?: string[];
}

const VERSION_V2 = Buffer.from('020101', 'hex');
const CRL_EXTENSIONS_TAG = 0xa0;

/**
 * Builds and signs a full or delta CRL; returns the DER of the CertificateList in consecutive
 * parts. Entries are consumed once and encoded as they arrive into megabyte blocks, which are
 * signed part by part and returned as they are: a million entries cost their ~50 MB of DER
 * once, never an object per entry nor a second, contiguous copy.
 */
export async function buildCrl(
  options: CrlOptions,
  entries: AsyncIterable<CrlEntry> | Iterable<CrlEntry>,
  signer: PartsSigner,
): Promise<Buffer[]> {
  const prefix = encodeTbsPrefix(options);
  const extensions = encodeCrlExtensions(options);
  const writer = new CrlEntryWriter(options.baseCrlNumber !== undefined);
  for await (const entry of entries) writer.add(entry);
  const revoked = writer.count > 0 ? [derHeader(TAG_SEQUENCE, writer.length), ...writer.finish()] : [];
  let tbsContentLength = prefix.length + extensions.length;
  for (const part of revoked) tbsContentLength += part.length;
  const tbs = [derHeader(TAG_SEQUENCE, tbsContentLength), prefix, ...revoked, extensions];
  const tbsLength = derHeaderLength(tbsContentLength) + tbsContentLength;

  const signature = await signer.signParts(tbs);
  const tail = Buffer.concat([SM2_WITH_SM3_ALGORITHM, derBitString(signature)]);
  return [derHeader(TAG_SEQUENCE, tbsLength + tail.length), ...tbs, tail];
}

/** version, signature, issuer, thisUpdate, nextUpdate: everything before revokedCertificates. */
function encodeTbsPrefix(options: CrlOptions): Buffer {
  if (options.issuerName[0] !== TAG_SEQUENCE) {
    throw new PkiError('CRL_INVALID_OPTIONS', 'issuerName must be the DER of a Name');
  }
  if (!(options.nextUpdate.getTime() > options.thisUpdate.getTime())) {
    throw new PkiError('CRL_INVALID_OPTIONS', 'nextUpdate must be after thisUpdate');
  }
  return Buffer.concat([
    VERSION_V2,
    SM2_WITH_SM3_ALGORITHM,
    options.issuerName,
    Buffer.from(AsnSerializer.serialize(toAsnTime(options.thisUpdate))),
    Buffer.from(AsnSerializer.serialize(toAsnTime(options.nextUpdate))),
  ]);
}

function encodeCrlExtensions(options: CrlOptions): Buffer {
  checkCrlNumber(options.crlNumber, 'crlNumber');
  const extensions: Extension[] = [
    extension(
      id_ce_authorityKeyIdentifier,
      false,
      AsnSerializer.serialize(
        new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(options.authorityKeyIdentifier) }),
      ),
    ),
    extension(id_ce_cRLNumber, false, derInteger(options.crlNumber)),
  ];
  if (options.baseCrlNumber !== undefined) {
    checkCrlNumber(options.baseCrlNumber, 'baseCrlNumber');
    if (options.baseCrlNumber >= options.crlNumber) {
      throw new PkiError('CRL_INVALID_OPTIONS', 'a delta CRL must have a higher number than its base');
    }
    extensions.push(extension(id_ce_deltaCRLIndicator, true, derInteger(options.baseCrlNumber)));
  }
  const idp = options.issuingDistributionPoint;
  if (idp) {
    const value = new IssuingDistributionPoint({
      onlyContainsUserCerts: idp.onlyContainsUserCerts ?? false,
      onlyContainsCACerts: idp.onlyContainsCACerts ?? false,
      onlyContainsAttributeCerts: idp.onlyContainsAttributeCerts ?? false,
      indirectCRL: idp.indirectCrl ?? false,
    });
    if (idp.uris?.length) value.distributionPoint = uriDistributionPointName(idp.uris);
    extensions.push(extension(id_ce_issuingDistributionPoint, true, AsnSerializer.serialize(value)));
  }
  if (options.freshestCrlUris?.length) {
    const value = new FreshestCRL([
      new DistributionPoint({ distributionPoint: uriDistributionPointName(options.freshestCrlUris) }),
    ]);
    extensions.push(extension(id_ce_freshestCRL, false, AsnSerializer.serialize(value)));
  }
  return derTlv(CRL_EXTENSIONS_TAG, Buffer.from(AsnSerializer.serialize(new Extensions(extensions))));
}

function checkCrlNumber(value: bigint, what: string): void {
  // RFC 5280 5.2.3: non-negative and at most 20 octets.
  if (value < 0n || value >= 1n << 159n) {
    throw new PkiError('CRL_INVALID_OPTIONS', `${what} must be a non-negative integer of at most 20 octets`);
  }
}

function uriDistributionPointName(uris: string[]): DistributionPointName {
  return new DistributionPointName({
    fullName: uris.map((uri) => new GeneralName({ uniformResourceIdentifier: uri })),
  });
}

function extension(extnID: string, critical: boolean, value: ArrayBuffer | Uint8Array): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(value) });
}
