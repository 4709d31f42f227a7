import { type Static, Type } from '@sinclair/typebox';
import type { ProfileId } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { PoolClient } from '@sm2ca/store';
import { encryptionProfileOf } from './encryption-profiles.ts';
import { HolderSchema, holderTypes } from './holder-identity.ts';
import { maxAutomaticAttempts } from './issue-failure.ts';
import { iso, literals, Nullable, Time } from './ra-context.ts';

export const applicationStatuses = ['submitted', 'approved', 'rejected', 'issued', 'failed'] as const;

const IssueError = Type.Object(
  {
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    at: Time,
  },
  { description: 'why the last CA call for this application failed' },
);

const EncryptionCertificate = Type.Object(
  {
    profile: Type.String(),
    template: Type.String({
      description: 'the certificate template the encryption certificate is issued under',
    }),
    templateVersion: Type.Integer({
      description: 'its approved version, fixed when the application was entered',
    }),
    issuerId: Nullable(Type.String()),
    serial: Nullable(Type.String()),
  },
  {
    description:
      "a dual application's encryption certificate, for the KM's key; issued with the signature certificate (issuerId, serial) by the same CA",
  },
);

export const applicationKinds = ['new', 'renewal', 'rekey'] as const;

const HolderEvidence = Type.Object(
  {
    method: literals(['current-key', 'desk'], {
      description:
        "current-key: the holder signed the request with the current certificate's key, verified at entry (the lighter " +
        'identity check); desk: the entry clerk checked the identity and entered the holder again',
    }),
    sameKey: Type.Boolean({ description: 'the new certificate certifies the current key again' }),
  },
  { additionalProperties: false },
);

const Replaces = Type.Object(
  {
    issuerId: Type.String(),
    serial: Type.String(),
    supersede: literals(['revoke', 'expire'], {
      description:
        'revoke: revoked (superseded; keyCompromise for a re-key) when decided; expire: left to run out',
    }),
    holderEvidence: HolderEvidence,
  },
  { description: 'a renewal or re-key: the certificate it replaces' },
);

export const ApplicationView = Type.Object({
  id: Type.String(),
  kind: literals(applicationKinds, {
    description:
      'new: a first certificate; renewal: replaces a current one; rekey: replaces a compromised one',
  }),
  status: literals(applicationStatuses),
  holderType: literals(holderTypes),
  holder: HolderSchema,
  holderKey: Type.String(),
  profile: Type.String(),
  operatorId: Nullable(
    Type.String({
      description:
        "for an operator's own (operator-sign) certificate: the operator it is for; decided by a super admin",
    }),
  ),
  template: Type.String({
    description: "the certificate template it is issued under, of the profile's kind",
  }),
  templateVersion: Type.Integer({
    description: 'the version of the certificate template it is issued under',
  }),
  dual: Type.Boolean({ description: 'a signature certificate and its encryption twin from one application' }),
  encryption: Nullable(EncryptionCertificate),
  publishConsent: Type.Boolean(),
  enteredBy: Type.String(),
  enteredAt: Time,
  deadline: Time,
  deadlineProvisional: Type.Boolean({
    description: 'the deadline counts only weekends in a year whose holiday schedule is not published yet',
  }),
  overdue: Type.Boolean({ description: 'still undecided after its deadline' }),
  reviewedBy: Nullable(Type.String()),
  reviewedAt: Nullable(Time),
  reviewReason: Nullable(Type.String()),
  issuedBy: Nullable(Type.String()),
  issuedAt: Nullable(Time),
  issuerId: Nullable(Type.String()),
  serial: Nullable(Type.String()),
  issueAttempts: Type.Integer({ description: 'CA calls for this application that failed' }),
  issueError: Nullable(IssueError),
  replaces: Nullable(Replaces),
  nextIssueAttemptAt: Nullable(
    Type.String({
      format: 'date-time',
      description: 'when the RA sends the instruction to the CA again by itself',
    }),
  ),
});
export type ApplicationView = Static<typeof ApplicationView>;

/** Operator names rather than ids: the view is read by people. */
export const applicationSelect = `
  SELECT a.*, e.name AS entered_by_name, r.name AS reviewed_by_name, i.name AS issued_by_name,
         (a.status = 'submitted' AND a.deadline < now()) AS overdue
    FROM applications a
    JOIN operators e ON e.id = a.entered_by
    LEFT JOIN operators r ON r.id = a.reviewed_by
    LEFT JOIN operators i ON i.id = a.issued_by`;

type Row = Record<string, unknown>;

export function toApplicationView(row: Row): ApplicationView {
  return {
    id: String(row.id),
    kind: row.kind as ApplicationView['kind'],
    status: row.status as ApplicationView['status'],
    holderType: row.holder_type as ApplicationView['holderType'],
    holder: row.holder as ApplicationView['holder'],
    holderKey: row.holder_key as string,
    profile: row.profile as string,
    operatorId: row.operator_id == null ? null : String(row.operator_id),
    template: row.template as string,
    templateVersion: row.template_version as number,
    dual: row.dual as boolean,
    encryption: row.dual
      ? {
          profile: encryptionProfileOf[row.profile as ProfileId]!,
          template: row.encryption_template as string,
          templateVersion: row.encryption_template_version as number,
          issuerId: row.encryption_serial ? (row.issuer_id as string) : null,
          serial: (row.encryption_serial as string | null) ?? null,
        }
      : null,
    publishConsent: row.publish_consent as boolean,
    enteredBy: row.entered_by_name as string,
    enteredAt: iso(row.entered_at)!,
    deadline: iso(row.deadline)!,
    deadlineProvisional: row.deadline_provisional as boolean,
    overdue: row.overdue as boolean,
    reviewedBy: (row.reviewed_by_name as string | null) ?? null,
    reviewedAt: iso(row.reviewed_at),
    reviewReason: (row.review_reason as string | null) ?? null,
    issuedBy: (row.issued_by_name as string | null) ?? null,
    issuedAt: iso(row.issued_at),
    issuerId: (row.issuer_id as string | null) ?? null,
    serial: (row.serial as string | null) ?? null,
    issueAttempts: row.issue_attempts as number,
    issueError: (row.issue_error as ApplicationView['issueError']) ?? null,
    replaces: row.replaces_serial
      ? {
          issuerId: row.replaces_issuer_id as string,
          serial: row.replaces_serial as string,
          supersede: row.supersede as 'revoke' | 'expire',
          holderEvidence: row.holder_evidence as Static<typeof HolderEvidence>,
        }
      : null,
    // An attempt is due only while the retrier still tries: approved, claimed, under the limit.
    nextIssueAttemptAt:
      row.status === 'approved' && row.ca_request_id && (row.issue_attempts as number) < maxAutomaticAttempts
        ? iso(row.next_issue_attempt_at)
        : null,
  };
}

export async function readApplication(
  client: Pick<PoolClient, 'query'>,
  id: string,
): Promise<ApplicationView> {
  const { rows } = await client.query(`${applicationSelect} WHERE a.id = $1`, [id]);
  if (!rows[0]) throw new AppError('APPLICATION_NOT_FOUND', `no application ${id}`, 404);
  return toApplicationView(rows[0]);
}

/** The columns the workflow steps decide on. */
export interface ApplicationRow {
  id: string;
  kind: ApplicationView['kind'];
  replaces_issuer_id: string | null;
  replaces_serial: string | null;
  status: ApplicationView['status'];
  holder_type: ApplicationView['holderType'];
  holder: ApplicationView['holder'];
  profile: string;
  operator_id: string | null;
  template: string;
  template_version: number;
  encryption_template: string | null;
  encryption_template_version: number | null;
  holder_key: string;
  csr: Buffer;
  dual: boolean;
  entered_by: string;
  ca_request_id: string | null;
}

/** The row to change, locked for the transaction so two operators cannot act on it at once. */
export async function lockApplication(client: PoolClient, id: string): Promise<ApplicationRow> {
  const { rows } = await client.query('SELECT * FROM applications WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw new AppError('APPLICATION_NOT_FOUND', `no application ${id}`, 404);
  return rows[0];
}
