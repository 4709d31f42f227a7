import type { Actor } from '@sm2ca/platform';
import type { BatchIssueAnswer } from './ca-client.ts';
import { type DownloadCode, newDownloadCode } from './download-codes.ts';
import { issuedAudit } from './issue-instruction.ts';
import type { RaContext } from './ra-context.ts';
import { replacedRevocationSql } from './supersession.ts';

type Issued = Extract<BatchIssueAnswer['results'][number], { serial: string }>;

/**
 * A chunk's issued applications marked issued with their download codes in one statement: per
 * row exactly what recordIssued writes for a single issuance (status, code, both audit records,
 * a renewal's revocation), one transaction for all instead of one each. A row a twin issued
 * meanwhile writes nothing and is left out of the answer (the retrier hands out no code: the
 * maker asks for one per application). A reference number that is taken aborts the statement,
 * which then runs again with new ones.
 */
export async function recordIssuedChunk(
  ctx: RaContext,
  actor: Actor & { id: string },
  rows: { id: string; answer: Issued }[],
): Promise<Map<string, DownloadCode>> {
  if (rows.length === 0) return new Map();
  for (;;) {
    const codes = rows.map(() => newDownloadCode(ctx.downloadCodeDays));
    try {
      const { rows: issued } = await ctx.pool.query({
        name: 'ra-record-issued-chunk',
        text: `WITH input AS (
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bytea[],
                                      $6::timestamptz[], $7::jsonb[], $8::jsonb[])
                   AS i(id, issuer_id, serial, reference, code_digest, expires_at, issue_audit, code_audit)
               ), issued AS (
                 UPDATE applications a SET status = 'issued', issued_by = $9, issued_at = now(),
                                           issuer_id = i.issuer_id, serial = i.serial,
                                           encryption_serial = NULL, enveloped_key = NULL
                   FROM input i
                  WHERE a.id = i.id AND a.status = 'approved'
                  RETURNING a.id, a.kind
               ), code AS (
                 INSERT INTO download_codes (reference, application_id, code_digest, expires_at)
                 SELECT i.reference, i.id, i.code_digest, i.expires_at FROM input i JOIN issued USING (id)
               ), audit AS (
                 INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, before, after)
                 SELECT $10, $11, 'application.issue', 'application', i.id::text, '{"status":"approved"}'::jsonb,
                        i.issue_audit
                   FROM input i JOIN issued USING (id)
                 UNION ALL
                 SELECT $10, $11, 'download_code.create', 'application', i.id::text, NULL::jsonb, i.code_audit
                   FROM input i JOIN issued USING (id)
               ), ${replacedRevocationSql('issued', 'renewal', '$10', '$11')}
               SELECT id::text AS id FROM issued`,
        values: [
          rows.map((r) => r.id),
          rows.map((r) => r.answer.issuerId),
          rows.map((r) => r.answer.serial),
          codes.map((c) => c.reference),
          codes.map((c) => c.digest),
          codes.map((c) => c.expiresAt),
          rows.map((r) => JSON.stringify(issuedAudit(r.answer))),
          codes.map((c) => JSON.stringify({ reference: c.reference, expiresAt: c.expiresAt })),
          actor.id,
          actor.name,
          actor.role,
        ],
      });
      const done = new Set(issued.map((r) => r.id as string));
      const byId = new Map<string, DownloadCode>();
      rows.forEach((row, index) => {
        if (!done.has(row.id)) return;
        const { digest: _digest, ...download } = codes[index]!;
        byId.set(row.id, download);
      });
      return byId;
    } catch (err) {
      const { code, constraint } = err as { code?: string; constraint?: string };
      if (code === '23505' && constraint === 'download_codes_pkey') continue;
      throw err;
    }
  }
}
