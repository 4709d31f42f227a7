import {
  type CertificateProfile,
  type DnAttribute,
  type IdentityInfo,
  lintTbs,
  type ParsedCertificate,
  type ParsedTbsCertificate,
} from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { IssueInstruction } from './issue-instruction.ts';

/** The GM/T 0015 identity extensions an instruction asks for; the first identity document wins. */
export function identityInfo(identity: IssueInstruction['identity']): IdentityInfo | undefined {
  if (!identity) return undefined;
  const info: IdentityInfo = {};
  if (identity.residentId) info.identifyCode = { type: 'residentCard', value: identity.residentId };
  else if (identity.passportNumber) info.identifyCode = { type: 'passport', value: identity.passportNumber };
  else if (identity.militaryOfficerCardNumber) {
    info.identifyCode = { type: 'militaryOfficerCard', value: identity.militaryOfficerCardNumber };
  }
  if (identity.insuranceNumber) info.insuranceNumber = identity.insuranceNumber;
  if (identity.icRegistrationNumber) info.icRegistrationNumber = identity.icRegistrationNumber;
  if (identity.organizationCode) info.organizationCode = identity.organizationCode;
  if (identity.taxationNumber) info.taxationNumber = identity.taxationNumber;
  if (identity.unifiedSocialCreditCode) info.unifiedSocialCreditCode = identity.unifiedSocialCreditCode;
  return info;
}

/** What an instruction puts into a certificate besides its key, serial and validity. */
export function holderFields(instruction: IssueInstruction) {
  const identity = identityInfo(instruction.identity);
  return {
    subject: instruction.subject as DnAttribute[],
    ...(identity ? { identity } : {}),
    ...(instruction.subjectAltNames ? { subjectAltName: instruction.subjectAltNames } : {}),
  };
}

/** The subject as the certificates table keeps it. */
export function subjectText(instruction: IssueInstruction): string {
  return instruction.subject.map((a) => `${a.type}=${a.value}`).join(', ');
}

/** The holder a certified key is bound to: the RA's holder key, else the subject name. */
export function holderOf(instruction: IssueInstruction): string {
  return instruction.holderKey ?? `subject:${subjectText(instruction)}`;
}

/**
 * The TBSCertificate as planned (planTbsCertificate: linted as built, not parsed again), or
 * CERTIFICATE_LINT_FAILED if it would break its profile.
 */
export function lintedTbs(
  planned: ParsedTbsCertificate,
  profile: CertificateProfile,
  issuer: ParsedCertificate,
): ParsedTbsCertificate {
  const errors = lintTbs(planned, { profile, issuer }).filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    throw new AppError(
      'CERTIFICATE_LINT_FAILED',
      `the certificate would break its profile: ${errors[0]!.message}`,
      422,
      { findings: errors },
    );
  }
  return planned;
}
