import type { ProfileId } from '@sm2ca/pki';
import type { ApplicationRow } from './application-view.ts';
import type { IssueAnswer, IssueInstruction } from './ca-client.ts';
import { encryptionProfileOf } from './encryption-profiles.ts';
import { vetHolder } from './holder-identity.ts';

export type IssuableRow = Pick<
  ApplicationRow,
  | 'holder_type'
  | 'holder'
  | 'profile'
  | 'template'
  | 'template_version'
  | 'encryption_template'
  | 'encryption_template_version'
  | 'holder_key'
  | 'csr'
  | 'dual'
>;

/**
 * The issue instruction for an approved application, derived from its stored row alone, so a
 * retry (by a maker or the retrier) sends the very instruction the first attempt sent. A dual
 * application is one instruction under one request id: the CA issues both certificates for it
 * or neither, and answers a retry with both.
 */
export function issueInstructionOf(row: IssuableRow, requestId: string): IssueInstruction {
  const { instruction } = vetHolder(row.holder_type, row.profile, row.holder);
  const encryption = row.dual ? encryptionProfileOf[row.profile as ProfileId] : undefined;
  return {
    requestId,
    profile: row.profile,
    // Named only when it is not the profile's own: a retry sends what was sent before templates had names.
    ...(row.template === row.profile ? {} : { template: row.template }),
    templateVersion: row.template_version,
    holderKey: row.holder_key,
    csr: row.csr.toString('base64'),
    ...instruction,
    ...(encryption ? { encryption: { profile: encryption, ...twinTemplate(row, encryption) } } : {}),
  };
}

/**
 * The encryption certificate's template, left out when it is the kind's seeded version 1 (the
 * CA's default): a dual application claimed before templates had names is retried with the very
 * instruction its first attempt sent, which the CA's request ledger requires.
 */
function twinTemplate(row: IssuableRow, encryption: string): { template?: string; templateVersion?: number } {
  if (row.encryption_template === encryption && row.encryption_template_version === 1) return {};
  return { template: row.encryption_template!, templateVersion: row.encryption_template_version! };
}

/** What the RA records of an issuance: the certificates' issuer and serials (and a dual's enveloped key). */
export type IssuedCertificates = Pick<IssueAnswer, 'issuerId' | 'serial' | 'encryption'>;

/** What the audit record of an issuance says about the certificates (never the enveloped key). */
export function issuedAudit(answer: IssuedCertificates): Record<string, unknown> {
  return {
    status: 'issued',
    issuerId: answer.issuerId,
    serial: answer.serial,
    ...(answer.encryption ? { encryptionSerial: answer.encryption.serial } : {}),
  };
}
