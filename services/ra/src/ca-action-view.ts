import { Type } from '@sinclair/typebox';
import { AppError, caActionKinds } from '@sm2ca/platform';
import type { Pool, PoolClient } from '@sm2ca/store';
import { iso, literals, Nullable, Time } from './ra-context.ts';

export const caActionStates = ['pending', 'approved', 'rejected', 'expired', 'executed'] as const;

export const CaActionView = Type.Object({
  id: Type.String(),
  kind: literals(caActionKinds),
  parameters: Type.Record(Type.String(), Type.Unknown()),
  digest: Type.String({
    description: 'SM3 (hex) of the canonical {kind, parameters}: an approval or rejection must name it',
  }),
  state: literals(caActionStates),
  requestedBy: Type.String(),
  requestedAt: Time,
  approvalsRequired: Type.Integer(),
  expiresAt: Time,
  decisions: Type.Array(
    Type.Object({
      by: Type.String(),
      decision: literals(['approve', 'reject']),
      reason: Nullable(Type.String()),
      decidedAt: Time,
    }),
  ),
  decidedAt: Nullable(Time),
  executedAt: Nullable(Time),
  result: Nullable(Type.Record(Type.String(), Type.Unknown())),
});
export type CaActionView = typeof CaActionView.static;

export interface CaActionRow {
  id: string;
  kind: (typeof caActionKinds)[number];
  parameters: Record<string, unknown>;
  digest: Buffer;
  state: (typeof caActionStates)[number];
  requested_by: string;
  approvals_required: number;
  expires_at: Date;
  /** Whether expires_at has passed by the database's clock. */
  expired: boolean;
}

export async function lockCaAction(client: PoolClient, id: string): Promise<CaActionRow> {
  const { rows } = await client.query(
    `SELECT id::text, kind, parameters, digest, state, requested_by::text, approvals_required, expires_at,
            expires_at <= now() AS expired
       FROM ca_actions WHERE id = $1 FOR UPDATE`,
    [id],
  );
  if (!rows[0]) throw new AppError('CA_ACTION_NOT_FOUND', `no CA action ${id}`, 404);
  return rows[0] as CaActionRow;
}

const select = `
  SELECT a.*, r.name AS requester,
         CASE WHEN a.state = 'pending' AND a.expires_at <= now() THEN 'expired' ELSE a.state END AS shown_state,
         coalesce((SELECT json_agg(json_build_object('by', o.name, 'decision', d.decision, 'reason', d.reason,
                                                     'decidedAt', d.decided_at) ORDER BY d.decided_at)
                     FROM ca_action_approvals d JOIN operators o ON o.id = d.approver_id
                    WHERE d.action_id = a.id), '[]') AS decisions
    FROM ca_actions a JOIN operators r ON r.id = a.requested_by`;

function toView(row: Record<string, unknown>): CaActionView {
  return {
    id: String(row.id),
    kind: row.kind as CaActionView['kind'],
    parameters: row.parameters as Record<string, unknown>,
    digest: (row.digest as Buffer).toString('hex'),
    // A pending action past its time shows as expired before anyone touches it.
    state: row.shown_state as CaActionView['state'],
    requestedBy: row.requester as string,
    requestedAt: iso(row.requested_at) as string,
    approvalsRequired: row.approvals_required as number,
    expiresAt: iso(row.expires_at) as string,
    decisions: (row.decisions as Array<CaActionView['decisions'][number]>).map((d) => ({
      ...d,
      decidedAt: new Date(d.decidedAt).toISOString(),
    })),
    decidedAt: iso(row.decided_at),
    executedAt: iso(row.executed_at),
    result: (row.result as Record<string, unknown> | null) ?? null,
  };
}

export async function readCaAction(db: Pool | PoolClient, id: string): Promise<CaActionView> {
  const { rows } = await db.query(`${select} WHERE a.id = $1`, [id]);
  if (!rows[0]) throw new AppError('CA_ACTION_NOT_FOUND', `no CA action ${id}`, 404);
  return toView(rows[0]);
}

export async function listCaActions(
  db: Pool,
  filter: { state?: string; limit: number; offset: number },
): Promise<CaActionView[]> {
  const { rows } = await db.query(
    `SELECT * FROM (${select}) v WHERE ($1::text IS NULL OR v.shown_state = $1)
      ORDER BY v.id DESC LIMIT $2 OFFSET $3`,
    [filter.state ?? null, filter.limit, filter.offset],
  );
  return rows.map(toView);
}
