import { bytesEqual } from '@sm2ca/gm';
import { findExtension, type ParsedCertificate, parseCertificate } from './certificate.ts';
import {
  decodeAuthorityKeyIdentifier,
  decodeBasicConstraints,
  decodeKeyUsage,
  decodeSubjectKeyIdentifier,
} from './extensions.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';
import type { Verifier } from './signer.ts';
import { sm2Verifier } from './sm2-verifier.ts';

export interface ChainOptions {
  /** Trusted roots; the chain must end in one of them. */
  trustAnchors: readonly (Uint8Array | ParsedCertificate)[];
  /** Intermediate CA certificates to build the path from. */
  intermediates?: readonly (Uint8Array | ParsedCertificate)[];
  /** When the chain must be valid; now when absent. */
  at?: Date;
  verifier?: Verifier;
}

const MAX_DEPTH = 8;

/**
 * Builds and validates the path leaf → … → trust anchor for our own hierarchies: names chain
 * byte for byte, AKI matches SKI, every certificate is valid at `at`, issuers are CAs with
 * keyCertSign within their pathLen, and every signature (the anchor's own included) verifies
 * under the GM default ID. Returns the path, leaf first; throws PkiError(CHAIN_*) otherwise.
 */
export async function validateChain(
  leaf: Uint8Array | ParsedCertificate,
  options: ChainOptions,
): Promise<ParsedCertificate[]> {
  const anchors = options.trustAnchors.map(parsed);
  const pool = [...anchors, ...(options.intermediates ?? []).map(parsed)];
  const verifier = options.verifier ?? sm2Verifier;
  const path = [parsed(leaf)];

  for (;;) {
    const current = path[path.length - 1]!;
    if (anchors.some((a) => bytesEqual(a.der, current.der))) break;
    if (path.length > MAX_DEPTH)
      throw new PkiError('CHAIN_TOO_LONG', `no trust anchor within ${MAX_DEPTH} certificates`);
    const candidates = pool.filter((c) => bytesEqual(c.subject, current.issuer) && keyIdsMatch(current, c));
    if (candidates.length === 0)
      throw new PkiError('CHAIN_NO_ISSUER', `no issuer found for ${describe(current)}`);
    let issuer: ParsedCertificate | undefined;
    for (const candidate of candidates) {
      if (await signedBy(current, candidate, verifier)) {
        issuer = candidate;
        break;
      }
    }
    if (!issuer)
      throw new PkiError('CHAIN_BAD_SIGNATURE', `signature of ${describe(current)} does not verify`);
    if (path.some((c) => bytesEqual(c.der, issuer.der))) throw new PkiError('CHAIN_LOOP', 'issuer loop');
    path.push(issuer);
  }

  const anchor = path[path.length - 1]!;
  if (!(await signedBy(anchor, anchor, verifier))) {
    throw new PkiError(
      'CHAIN_BAD_SIGNATURE',
      `self-signature of trust anchor ${describe(anchor)} does not verify`,
    );
  }
  const at = options.at ?? new Date();
  path.forEach((cert, depth) => {
    if (at < cert.notBefore || at > cert.notAfter) {
      throw new PkiError('CHAIN_EXPIRED', `${describe(cert)} is not valid at ${at.toISOString()}`);
    }
    if (depth > 0) checkIssuer(cert, depth - 1);
  });
  return path;
}

/** `below` = number of intermediate CAs between this issuer and the leaf. */
function checkIssuer(cert: ParsedCertificate, below: number): void {
  const bcExt = findExtension(cert, OIDS.basicConstraints);
  const bc = bcExt ? decodeBasicConstraints(bcExt.value) : undefined;
  if (!bc?.ca) throw new PkiError('CHAIN_NOT_CA', `${describe(cert)} is not a CA`);
  if (bc.pathLen !== undefined && below > bc.pathLen) {
    throw new PkiError(
      'CHAIN_PATH_LENGTH',
      `${describe(cert)} allows ${bc.pathLen} intermediate CAs below it`,
    );
  }
  const kuExt = findExtension(cert, OIDS.keyUsage);
  if (kuExt && !decodeKeyUsage(kuExt.value).has('keyCertSign')) {
    throw new PkiError('CHAIN_KEY_USAGE', `${describe(cert)} lacks keyCertSign`);
  }
}

function keyIdsMatch(child: ParsedCertificate, issuer: ParsedCertificate): boolean {
  const akiExt = findExtension(child, OIDS.authorityKeyIdentifier);
  const skiExt = findExtension(issuer, OIDS.subjectKeyIdentifier);
  if (!akiExt || !skiExt) return true;
  const aki = decodeAuthorityKeyIdentifier(akiExt.value);
  return aki === undefined || bytesEqual(aki, decodeSubjectKeyIdentifier(skiExt.value));
}

async function signedBy(
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  verifier: Verifier,
): Promise<boolean> {
  if (cert.signatureAlgorithm.oid !== OIDS.sm2WithSm3 || cert.tbsSignatureAlgorithm.oid !== OIDS.sm2WithSm3)
    return false;
  return verifier.verify(issuer.spki, cert.tbs, cert.signature);
}

function parsed(cert: Uint8Array | ParsedCertificate): ParsedCertificate {
  return cert instanceof Uint8Array ? parseCertificate(cert) : cert;
}

function describe(cert: ParsedCertificate): string {
  return `certificate ${cert.serialHex}`;
}
