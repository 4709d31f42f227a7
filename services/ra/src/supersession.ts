import type { Actor, Logger } from '@sm2ca/platform';
import type { PoolClient } from '@sm2ca/store';
import type { RaContext } from './ra-context.ts';
import { instructCa, type RevocationView } from './revocations.ts';

/**
 * SQL CTEs that record the revocation a renewal or re-key decided, approved at once under the
 * application's own review: for each application id in `source` of kind `kind` (and, for a
 * renewal, whose policy revokes the certificate it replaces). The replaced certificate's
 * dual-enrollment twin goes with it. Nothing is written for a certificate that is no longer
 * good or on hold or already has an open request: the CA would refuse it, and the request
 * would stay approved for ever. The revocation and its audit record commit with the caller's
 * statement; `actor` and `role` are that statement's placeholders for the acting operator.
 */
export function replacedRevocationSql(
  source: string,
  kind: 'renewal' | 'rekey',
  actor: string,
  role: string,
): string {
  const reason = kind === 'rekey' ? 'keyCompromise' : 'superseded';
  return `replaced_revocation AS (
      INSERT INTO revocation_requests (kind, status, issuer_id, serial, reason, requested_by, entered_by, reviewed_by,
                                       decided_at, ca_request_id, application_id, twin_issuer_id, twin_serial,
                                       include_twin, twin_ca_request_id)
      SELECT 'revoke', 'approved', a.replaces_issuer_id, a.replaces_serial, '${reason}', '${kind} ' || a.id,
             a.entered_by, a.reviewed_by, now(), gen_random_uuid()::text, a.id,
             CASE WHEN o.encryption_serial IS NOT NULL THEN o.issuer_id END, o.encryption_serial,
             o.encryption_serial IS NOT NULL,
             CASE WHEN o.encryption_serial IS NOT NULL THEN gen_random_uuid()::text END
        FROM ${source} s
        JOIN applications a ON a.id = s.id
        JOIN certificates c ON c.issuer_id = a.replaces_issuer_id AND c.serial = a.replaces_serial
        LEFT JOIN applications o
          ON o.issuer_id = a.replaces_issuer_id AND o.serial = a.replaces_serial AND o.status = 'issued'
       WHERE a.kind = '${kind}' AND (a.kind = 'rekey' OR a.supersede = 'revoke')
         AND c.status IN ('good', 'hold')
         AND NOT EXISTS (
           SELECT FROM revocation_requests v
            WHERE v.status IN ('submitted', 'approved') AND v.kind = 'revoke'
              AND v.issuer_id = a.replaces_issuer_id AND v.serial = a.replaces_serial)
      ON CONFLICT (application_id) DO NOTHING
      RETURNING id, reason, application_id, ca_request_id
    ), replaced_revocation_audit AS (
      INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
      SELECT ${actor}, ${role}, 'revocation.approve', 'revocation_request', id::text,
             jsonb_build_object('status', 'approved', 'reason', reason, 'applicationId', application_id::text,
                                'caRequestId', ca_request_id)
        FROM replaced_revocation
    )`;
}

/** As replacedRevocationSql, for one application inside the caller's transaction. */
export async function recordReplacedRevocation(
  client: PoolClient,
  actor: Actor,
  applicationId: string,
  kind: 'renewal' | 'rekey',
): Promise<void> {
  await client.query(
    `WITH decided AS (SELECT $1::bigint AS id), ${replacedRevocationSql('decided', kind, '$2', '$3')}
     SELECT FROM replaced_revocation`,
    [applicationId, actor.name, actor.role],
  );
}

export interface ReplacedRevocation {
  revocationId: string;
  status: RevocationView['status'];
}

/**
 * Sends the CA the revocation an application decided, if one waits. A CA that cannot be reached
 * leaves it approved for /v1/revocations/:id/retry; that is logged, not thrown, since the
 * caller's own step (an approval, an issuance with its download code) has committed already.
 */
export async function sendReplacedRevocation(
  ctx: RaContext,
  actor: Actor,
  applicationId: string,
  log: Pick<Logger, 'warn'>,
): Promise<ReplacedRevocation | null> {
  const { rows } = await ctx.pool.query('SELECT * FROM revocation_requests WHERE application_id = $1', [
    applicationId,
  ]);
  const row = rows[0];
  if (!row) return null;
  const revocationId = String(row.id);
  if (row.status !== 'approved') return { revocationId, status: row.status };
  try {
    const done = await instructCa(ctx, actor, revocationId, row);
    return { revocationId, status: done.status };
  } catch (err) {
    log.warn(
      { err, applicationId, revocationId },
      'the revocation of a replaced certificate waits for a retry',
    );
    return { revocationId, status: 'approved' };
  }
}
