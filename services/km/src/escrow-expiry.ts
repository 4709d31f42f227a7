import type { KmContext } from './km-context.ts';

const BATCH = 500;

/** Each escrow whose certificate has ended, and its audit record, in one statement. */
const expire = `
  WITH expired AS (
    UPDATE km_keys SET state = 'expired', state_changed_at = now()
     WHERE id IN (SELECT id FROM km_keys WHERE state = 'current' AND not_after < now()
                   ORDER BY not_after LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
    RETURNING id, ca_name, user_cert_no, not_after
  ), audit AS (
    INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, before, after)
    SELECT 'km', 'km_expiry', 'km.key.expire', 'km_key', id::text, '{"state":"current"}',
           jsonb_build_object('state', 'expired', 'caName', ca_name, 'userCertNo', user_cert_no, 'notAfter', not_after)
      FROM expired
  )
  SELECT count(*)::int AS n FROM expired`;

/** Escrows out of service for longer than the setting move to the archive, each on record. */
const archive = `
  WITH archived AS (
    UPDATE km_keys SET state = 'archived', state_changed_at = now()
     WHERE id IN (SELECT id FROM km_keys WHERE state IN ('revoked', 'expired')
                     AND state_changed_at < now() - make_interval(days => $1)
                   ORDER BY state_changed_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
    RETURNING id, ca_name, user_cert_no
  ), audit AS (
    INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
    SELECT 'km', 'km_expiry', 'km.key.archive', 'km_key', id::text,
           jsonb_build_object('state', 'archived', 'caName', ca_name, 'userCertNo', user_cert_no)
      FROM archived
  )
  SELECT count(*)::int AS n FROM archived`;

/**
 * revoked or expired → archived after `archiveAfterDays` out of service. The archive is a state,
 * not a deletion: the wrapped key stays, and a recovery may still release it.
 */
export async function archiveEscrows(km: Pick<KmContext, 'pool'>, archiveAfterDays: number): Promise<number> {
  let total = 0;
  for (;;) {
    const { rows } = await km.pool.query({
      name: 'km-archive-escrows',
      text: archive,
      values: [archiveAfterDays],
    });
    total += rows[0].n as number;
    if (rows[0].n < BATCH) return total;
  }
}

/**
 * current → expired once the encryption certificate's notAfter has passed (a revocation comes
 * as RevokeKeyReq instead). The key stays escrowed: data encrypted under it is still recoverable.
 */
export async function expireEscrows(km: Pick<KmContext, 'pool'>): Promise<number> {
  let total = 0;
  for (;;) {
    const { rows } = await km.pool.query({ name: 'km-expire-escrows', text: expire });
    total += rows[0].n as number;
    if (rows[0].n < BATCH) return total;
  }
}
