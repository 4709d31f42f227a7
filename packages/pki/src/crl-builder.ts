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
  derHeaderLength,
  derInteger,
  derTlv,
  TAG_SEQUENCE,
  writeDerHeader,
} from './crl-der-writer.ts';
import { type CrlEntry, CrlEntryWriter } from './crl-entry-writer.ts';
import { SM2_WITH_SM3_ALGORITHM } from './crl-ocsp-algorithms.ts';
import { PkiError } from './pki-error.ts';
import type { Signer } from './signer.ts';
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
// Room for the outer SEQUENCE header in front of the TBS (lengths up to 2^32).
const OUTER_HEADER_ROOM = 6;
// Room behind the TBS for AlgorithmIdentifier + BIT STRING of an SM2 signature (at most 72 bytes).
const TAIL_ROOM = 128;

/**
 * Builds and signs a full or delta CRL. Entries are consumed once and encoded as they arrive,
 * so memory grows by the ~40-80 DER bytes of each entry, never by an object per entry.
 * Returns the DER of the CertificateList.
 */
export async function buildCrl(
  options: CrlOptions,
  entries: AsyncIterable<CrlEntry> | Iterable<CrlEntry>,
  signer: Signer,
): Promise<Buffer> {
  const prefix = encodeTbsPrefix(options);
  const extensions = encodeCrlExtensions(options);
  const writer = new CrlEntryWriter(options.baseCrlNumber !== undefined);
  for await (const entry of entries) writer.add(entry);
  const entriesLength = writer.length;
  const revokedLength = writer.count > 0 ? derHeaderLength(entriesLength) + entriesLength : 0;
  const tbsContentLength = prefix.length + revokedLength + extensions.length;
  const tbsLength = derHeaderLength(tbsContentLength) + tbsContentLength;

  const out = Buffer.allocUnsafe(OUTER_HEADER_ROOM + tbsLength + TAIL_ROOM);
  let at = writeDerHeader(out, OUTER_HEADER_ROOM, TAG_SEQUENCE, tbsContentLength);
  at += prefix.copy(out, at);
  if (writer.count > 0) {
    at = writeDerHeader(out, at, TAG_SEQUENCE, entriesLength);
    for (const chunk of writer.finish()) at += chunk.copy(out, at);
  }
  at += extensions.copy(out, at);
  const tbsEnd = at;
  const tbs = out.subarray(OUTER_HEADER_ROOM, tbsEnd);

  const signature = await signer.sign(tbs);
  const tail = Buffer.concat([SM2_WITH_SM3_ALGORITHM, derBitString(signature)]);
  const contentLength = tbsLength + tail.length;
  if (tail.length > TAIL_ROOM) {
    return derTlv(TAG_SEQUENCE, tbs, tail);
  }
  const start = OUTER_HEADER_ROOM - derHeaderLength(contentLength);
  writeDerHeader(out, start, TAG_SEQUENCE, contentLength);
  tail.copy(out, tbsEnd);
  return out.subarray(start, tbsEnd + tail.length);
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
