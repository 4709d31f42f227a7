import { type ParsedCertificate, parseTbsCertificate } from './certificate.ts';
import { derBitString, derTlv, TAG_SEQUENCE } from './crl-der-writer.ts';
import { SM2_WITH_SM3_ALGORITHM } from './crl-ocsp-algorithms.ts';
import { type LintFinding, lintTbs } from './linter.ts';
import { PkiError } from './pki-error.ts';
import type { CertificateProfile, ProfileId } from './profiles.ts';
import type { Signer, Verifier } from './signer.ts';
import { buildTbsCertificate, type TbsInput } from './tbs-builder.ts';

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING },
 * with the TBS embedded byte for byte as it was signed.
 */
export function assembleCertificate(
  tbs: Uint8Array,
  signature: Uint8Array,
  signatureAlgorithm: Uint8Array = SM2_WITH_SM3_ALGORITHM,
): Uint8Array {
  return new Uint8Array(derTlv(TAG_SEQUENCE, tbs, signatureAlgorithm, derBitString(signature)));
}

export interface SignOptions {
  profile?: ProfileId | CertificateProfile;
  /** Absent for a self-signed root. */
  issuer?: ParsedCertificate;
  /** When given, the fresh signature is checked under the signing key (issuer's, or the subject's when self-signed). */
  verifier?: Verifier;
}

/**
 * Lints `tbs` and, only when no finding is an error, has `signer` sign it. Throws
 * PkiError(LINT_FAILED) listing the errors, or PkiError(SIGNATURE_INVALID) when `verifier`
 * rejects what the signer produced (wrong key, wrong signer ID).
 */
export async function signCertificate(
  tbs: Uint8Array,
  signer: Signer,
  options: SignOptions = {},
): Promise<Uint8Array> {
  const errors = lintTbs(tbs, { profile: options.profile, issuer: options.issuer }).filter(
    (f) => f.severity === 'error',
  );
  if (errors.length > 0) throw new PkiError('LINT_FAILED', describe(errors));
  const signature = await signer.sign(tbs);
  if (options.verifier) {
    const spki = options.issuer?.spki ?? parseTbsCertificate(tbs).spki;
    if (!(await options.verifier.verify(spki, tbs, signature))) {
      throw new PkiError(
        'SIGNATURE_INVALID',
        'the signer produced a signature that does not verify under the GM default ID',
      );
    }
  }
  return assembleCertificate(tbs, signature);
}

/** buildTbsCertificate + signCertificate: the CA's whole issuance step. */
export async function issueCertificate(
  input: TbsInput,
  signer: Signer,
  options: Pick<SignOptions, 'verifier'> = {},
): Promise<Uint8Array> {
  const tbs = buildTbsCertificate(input);
  return signCertificate(tbs, signer, {
    profile: input.profile,
    issuer: input.issuer,
    verifier: options.verifier,
  });
}

function describe(findings: LintFinding[]): string {
  return `TBSCertificate fails lint: ${findings.map((f) => `${f.code}: ${f.message}`).join('; ')}`;
}
