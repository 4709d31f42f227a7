import { type Static, Type } from '@sinclair/typebox';
import { AppError } from '@sm2ca/platform';
import type { PoolClient } from '@sm2ca/store';
import { iso, literals, Nullable, Time } from './ra-context.ts';
import {
  CertificateRefView,
  IdentityDocument,
  KmFailure,
  type RecoveryStatus,
  recoveryStatuses,
  text,
} from './recovery-schemas.ts';

export const requesters = ['holder', 'agent'] as const;

export const IdentityCheck = Type.Object(
  {
    requester: literals(requesters, {
      description: 'holder: the holder in person; agent: someone the holder authorised',
    }),
    document: IdentityDocument,
    method: text(
      200,
      'how the document was checked: original seen in person, chip read by an ID card reader, checked with the public security service, …',
    ),
    agentAuthorisation: Type.Optional(
      text(1000, "for an agent: the holder's written authorisation and the agent's own document"),
    ),
    note: Type.Optional(text(1000)),
  },
  { additionalProperties: false },
);
export type IdentityCheck = Static<typeof IdentityCheck>;

export const KeyRecoveryView = Type.Object({
  id: Type.String(),
  status: literals(recoveryStatuses),
  issuerId: Type.String({ description: 'issuer of the encryption certificate' }),
  serial: Type.String({ description: 'serial of the encryption certificate' }),
  holderKey: Type.String(),
  identityCheck: IdentityCheck,
  enteredBy: Type.String(),
  enteredAt: Time,
  reviewedBy: Nullable(Type.String()),
  decidedAt: Nullable(Time),
  reviewReason: Nullable(Type.String()),
  recipient: Nullable(CertificateRefView),
  releasedAt: Nullable(Time),
  failure: KmFailure,
  downloadedAt: Nullable(Time),
});
export type KeyRecoveryView = Static<typeof KeyRecoveryView>;

export const keyRecoverySelect = `
  SELECT k.*, e.name AS entered_by_name, r.name AS reviewed_by_name
    FROM key_recoveries k
    JOIN operators e ON e.id = k.entered_by
    LEFT JOIN operators r ON r.id = k.reviewed_by`;

export type Row = Record<string, unknown>;

export function toKeyRecoveryView(row: Row): KeyRecoveryView {
  return {
    id: String(row.id),
    status: row.status as RecoveryStatus,
    issuerId: row.issuer_id as string,
    serial: row.serial as string,
    holderKey: row.holder_key as string,
    identityCheck: row.identity_check as IdentityCheck,
    enteredBy: row.entered_by_name as string,
    enteredAt: iso(row.entered_at)!,
    reviewedBy: (row.reviewed_by_name as string | null) ?? null,
    decidedAt: iso(row.decided_at),
    reviewReason: (row.review_reason as string | null) ?? null,
    recipient: row.recipient_serial
      ? { issuerId: row.recipient_issuer_id as string, serial: row.recipient_serial as string }
      : null,
    releasedAt: iso(row.released_at),
    failure: (row.failure as KeyRecoveryView['failure']) ?? null,
    downloadedAt: iso(row.downloaded_at),
  };
}

export async function readKeyRecovery(
  client: Pick<PoolClient, 'query'>,
  id: string,
): Promise<KeyRecoveryView> {
  const { rows } = await client.query(`${keyRecoverySelect} WHERE k.id = $1`, [id]);
  if (!rows[0]) throw new AppError('KEY_RECOVERY_NOT_FOUND', `no key recovery ${id}`, 404);
  return toKeyRecoveryView(rows[0]);
}

export async function lockKeyRecovery(client: Pick<PoolClient, 'query'>, id: string): Promise<Row> {
  const { rows } = await client.query('SELECT * FROM key_recoveries WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw new AppError('KEY_RECOVERY_NOT_FOUND', `no key recovery ${id}`, 404);
  return rows[0];
}
