import { createHash } from 'node:crypto';
import { CertID } from '@peculiar/asn1-ocsp';
import { AsnParser, AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { derIntegerContent } from './crl-der-writer.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';

export type OcspHashAlgorithm = 'sha1' | 'sha256' | 'sm3';

export const OCSP_HASH_ALGORITHM_OIDS: Readonly<Record<OcspHashAlgorithm, string>> = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sm3: OIDS.sm3,
};

const DIGEST_LENGTH = 32;
const SHA1_LENGTH = 20;

/** What CertIDs are computed from: the issuer certificate's subject and public key. */
export interface OcspIssuer {
  /** DER Name of the issuer certificate's subject, as it appears in the certificate. */
  subjectDer: Uint8Array;
  /** Contents of the issuer's subjectPublicKey BIT STRING (the 04||X||Y point for SM2). */
  publicKey: Uint8Array;
}

export interface OcspIssuerHashes {
  hashAlgorithm: OcspHashAlgorithm;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
}

export interface OcspCertId extends OcspIssuerHashes {
  serial: bigint;
  /** DER of the CertID as received (or built), so a response can echo it exactly. */
  der: Buffer;
}

/** The subjectPublicKey BIT STRING contents of a DER SubjectPublicKeyInfo. */
export function publicKeyOfSpki(spkiDer: Uint8Array): Buffer {
  try {
    return Buffer.from(AsnParser.parse(spkiDer, SubjectPublicKeyInfo).subjectPublicKey);
  } catch (err) {
    throw new PkiError('INVALID_SPKI', 'not a SubjectPublicKeyInfo', { cause: err });
  }
}

export function ocspHash(algorithm: OcspHashAlgorithm, data: Uint8Array): Buffer {
  return createHash(algorithm).update(data).digest();
}

/** issuerNameHash and issuerKeyHash of `issuer` (RFC 6960 4.1.1), for matching CertIDs to issuers. */
export function ocspIssuerHashes(issuer: OcspIssuer, hashAlgorithm: OcspHashAlgorithm): OcspIssuerHashes {
  return {
    hashAlgorithm,
    issuerNameHash: ocspHash(hashAlgorithm, issuer.subjectDer),
    issuerKeyHash: ocspHash(hashAlgorithm, issuer.publicKey),
  };
}

/** Builds the CertID of a certificate; responders use it to pre-sign responses before any request. */
export function buildOcspCertId(
  issuer: OcspIssuer,
  serial: bigint | Uint8Array,
  hashAlgorithm: OcspHashAlgorithm = 'sha1',
): OcspCertId {
  const hashes = ocspIssuerHashes(issuer, hashAlgorithm);
  const serialContent = derIntegerContent(serial);
  const certId = new CertID({
    // NULL parameters, as OpenSSL writes them for every CertID hash.
    hashAlgorithm: new AlgorithmIdentifier({
      algorithm: OCSP_HASH_ALGORITHM_OIDS[hashAlgorithm],
      parameters: null,
    }),
    issuerNameHash: new OctetString(hashes.issuerNameHash),
    issuerKeyHash: new OctetString(hashes.issuerKeyHash),
    serialNumber: Uint8Array.from(serialContent).buffer,
  });
  return {
    ...hashes,
    serial: BigInt(`0x${serialContent.toString('hex')}`),
    der: Buffer.from(AsnSerializer.serialize(certId)),
  };
}

/** Decodes a CertID; throws plain Errors, which the request/response parsers report with their codes. */
export function decodeOcspCertId(der: Buffer): OcspCertId {
  const certId = AsnParser.parse(der, CertID);
  const oid = certId.hashAlgorithm.algorithm;
  const hashAlgorithm = (Object.keys(OCSP_HASH_ALGORITHM_OIDS) as OcspHashAlgorithm[]).find(
    (name) => OCSP_HASH_ALGORITHM_OIDS[name] === oid,
  );
  if (!hashAlgorithm) throw new Error(`unsupported CertID hash algorithm ${oid}`);
  const length = hashAlgorithm === 'sha1' ? SHA1_LENGTH : DIGEST_LENGTH;
  const issuerNameHash = Buffer.from(certId.issuerNameHash.buffer);
  const issuerKeyHash = Buffer.from(certId.issuerKeyHash.buffer);
  if (issuerNameHash.length !== length || issuerKeyHash.length !== length) {
    throw new Error('CertID hash has the wrong length');
  }
  const serial = Buffer.from(certId.serialNumber);
  if (serial.length === 0 || serial.length > 21 || (serial[0]! & 0x80) !== 0) {
    throw new Error('CertID serial number is not a positive INTEGER of at most 20 octets');
  }
  return { hashAlgorithm, issuerNameHash, issuerKeyHash, serial: BigInt(`0x${serial.toString('hex')}`), der };
}

export function ocspCertIdMatchesIssuer(certId: OcspCertId, hashes: OcspIssuerHashes): boolean {
  return (
    certId.hashAlgorithm === hashes.hashAlgorithm &&
    certId.issuerNameHash.equals(hashes.issuerNameHash) &&
    certId.issuerKeyHash.equals(hashes.issuerKeyHash)
  );
}

/**
 * Key for a cache of pre-signed responses: a response echoes one CertID, so each hash algorithm
 * a client may use needs its own entry.
 */
export function ocspCacheKey(certId: OcspCertId): string {
  return `${certId.hashAlgorithm}:${certId.issuerKeyHash.toString('hex')}:${certId.serial.toString(16)}`;
}
