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

/** Two key administrators, neither of them the officer, approve before KM is asked. */
export const approvalsNeeded = 2;

export const Authorisation = Type.Object(
  {
    documentReference: text(200, "the court's document number, e.g. (2026)京0105执1234号"),
    court: text(200, 'the issuing court'),
    officerName: text(100, 'the judicial officer named in the document'),
    officerDocument: IdentityDocument,
    note: Type.Optional(text(1000)),
  },
  { additionalProperties: false },
);
export type Authorisation = Static<typeof Authorisation>;

const Decision = Type.Object({
  by: Type.String(),
  decision: literals(['approve', 'reject']),
  reason: Nullable(Type.String()),
  at: Time,
  expired: Type.Boolean({ description: 'an approval older than the approval lifetime no longer counts' }),
});

export const JudicialRecoveryView = Type.Object({
  id: Type.String(),
  status: literals(recoveryStatuses),
  issuerId: Type.String({ description: 'issuer of the encryption certificate' }),
  serial: Type.String({ description: 'serial of the encryption certificate' }),
  authorisation: Authorisation,
  officerCertificate: CertificateRefView,
  enteredBy: Type.String(),
  enteredAt: Time,
  decisions: Type.Array(Decision),
  approvalsNeeded: Type.Integer(),
  decidedAt: Nullable(Time),
  releasedAt: Nullable(Time),
  failure: KmFailure,
  downloadedAt: Nullable(Time),
});
export type JudicialRecoveryView = Static<typeof JudicialRecoveryView>;

export type Row = Record<string, unknown>;

export const judicialSelect = `
  SELECT j.*, e.name AS entered_by_name,
         COALESCE((SELECT json_agg(json_build_object(
                    'by', o.name, 'decision', d.decision, 'reason', d.reason, 'at', d.decided_at,
                    'expired', d.decision = 'approve' AND d.decided_at <= now() - make_interval(hours => $2))
                    ORDER BY d.decided_at)
                     FROM judicial_recovery_decisions d JOIN operators o ON o.id = d.operator_id
                    WHERE d.recovery_id = j.id), '[]') AS decisions
    FROM judicial_recoveries j
    JOIN operators e ON e.id = j.entered_by`;

export function toJudicialView(row: Row): JudicialRecoveryView {
  const decisions = row.decisions as Array<JudicialRecoveryView['decisions'][number]>;
  return {
    id: String(row.id),
    status: row.status as RecoveryStatus,
    issuerId: row.issuer_id as string,
    serial: row.serial as string,
    authorisation: row.authorisation as Authorisation,
    officerCertificate: {
      issuerId: row.officer_issuer_id as string,
      serial: row.officer_serial as string,
    },
    enteredBy: row.entered_by_name as string,
    enteredAt: iso(row.entered_at)!,
    // json_build_object writes the session's offset (+00:00); the API shows instants as Z.
    decisions: decisions.map((d) => ({ ...d, at: new Date(d.at).toISOString() })),
    approvalsNeeded,
    decidedAt: iso(row.decided_at),
    releasedAt: iso(row.released_at),
    failure: (row.failure as JudicialRecoveryView['failure']) ?? null,
    downloadedAt: iso(row.downloaded_at),
  };
}

export async function readJudicialRecovery(
  client: Pick<PoolClient, 'query'>,
  id: string,
  approvalHours: number,
  enteredBy: string | null = null,
): Promise<JudicialRecoveryView> {
  const { rows } = await client.query(
    `${judicialSelect} WHERE j.id = $1 AND ($3::bigint IS NULL OR j.entered_by = $3)`,
    [id, approvalHours, enteredBy],
  );
  if (!rows[0]) throw new AppError('JUDICIAL_RECOVERY_NOT_FOUND', `no judicial recovery ${id}`, 404);
  return toJudicialView(rows[0]);
}

export async function lockJudicialRecovery(client: Pick<PoolClient, 'query'>, id: string): Promise<Row> {
  const { rows } = await client.query('SELECT * FROM judicial_recoveries WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw new AppError('JUDICIAL_RECOVERY_NOT_FOUND', `no judicial recovery ${id}`, 404);
  return rows[0];
}
