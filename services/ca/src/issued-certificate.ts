import { assembleCertificate } from '@sm2ca/pki';
import { statusEventSql } from './certificate-events.ts';
import type { IssuanceContext, IssueResult } from './issuance.ts';
import { requireUsableIssuer } from './issuers.ts';

/**
 * A planned certificate signed. The issuer is checked here, right before its key signs, so a
 * retry cannot sign under a CA revoked since; `issuerChecked` when the statement that planned it
 * just now did so.
 */
export async function signPlanned(
  context: IssuanceContext,
  issuerId: string,
  tbs: Uint8Array,
  issuerChecked = false,
): Promise<Uint8Array> {
  if (!issuerChecked) await requireUsableIssuer(context.pool, context.issuers, issuerId);
  const signature = await context.device.sign(context.issuers.get(issuerId)!.keyLabel, tbs);
  return assembleCertificate(tbs, signature);
}

/**
 * Stores a signed planned certificate, with the instruction's answer (`response`; null while
 * it waits for a twin certificate) and its audit record. One statement, hence one transaction:
 * every part after the UPDATE hangs off its RETURNING, so a certificate that is no longer
 * planned (a twin instruction stored it first) changes nothing and writes no audit record.
 * False when that happened.
 */
export async function storeIssued(
  context: IssuanceContext,
  stored: {
    issuerId: string;
    serial: string;
    certificate: Uint8Array;
    requestId: string;
    response: IssueResult | null;
    profile: string;
    audit: object;
  },
): Promise<boolean> {
  const { rowCount } = await context.pool.query({
    name: 'ca-store-certificate',
    text: `WITH stored AS (
             UPDATE certificates SET status = 'good', der = $3, issued_at = now()
              WHERE issuer_id = $1 AND serial = $2 AND status = 'planned'
              RETURNING issuer_id, serial
           ), ledger AS (
             UPDATE ca_requests SET response = $4 WHERE request_id = $5 AND EXISTS (SELECT FROM stored)
           ), ${statusEventSql('stored', "'good'")}, audit AS (
             INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
             SELECT 'ra', 'ra_instruction', 'certificate.issue', 'certificate', issuer_id || '/' || serial, $6::jsonb
               FROM stored
           )
           SELECT FROM notified`,
    values: [
      stored.issuerId,
      stored.serial,
      stored.certificate,
      stored.response && JSON.stringify(stored.response),
      stored.requestId,
      JSON.stringify(stored.audit),
    ],
  });
  if (rowCount === 0) return false;
  context.issued.inc({ profile: stored.profile });
  return true;
}
