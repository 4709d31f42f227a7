import { randomUUID } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { type Actor, AppError, allowedTo, type HttpServer, recordAudit, withExample } from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { downloadCodeExample, issuedExample } from './api-examples.ts';
import { lockApplication } from './application-view.ts';
import type { IssueAnswer } from './ca-client.ts';
import { createDownloadCode, DownloadCode, newDownloadCode } from './download-codes.ts';
import { recordIssueFailure } from './issue-failure.ts';
import {
  type IssuableRow,
  type IssuedCertificates,
  issuedAudit,
  issueInstructionOf,
} from './issue-instruction.ts';
import { leaseSeconds } from './issue-retrier.ts';
import { actorOf, IdParams, type RaContext } from './ra-context.ts';
import { replacedRevocationSql, sendReplacedRevocation } from './supersession.ts';

const Issued = Type.Object({
  applicationId: Type.String(),
  issuerId: Type.String(),
  serial: Type.String(),
  encryption: Type.Optional(
    Type.Object(
      { serial: Type.String() },
      { description: 'a dual application: its encryption certificate, by the same issuer' },
    ),
  ),
  download: DownloadCode,
  supersession: Type.Optional(
    Type.Object(
      {
        revocationId: Type.String(),
        status: Type.String({ description: 'done, or approved while the CA has not confirmed it yet' }),
      },
      { description: 'a renewal: the revocation (superseded) of the certificate it replaces' },
    ),
  ),
});

export type IssuedView = Static<typeof Issued>;

function alreadyIssued(id: string): AppError {
  return new AppError('APPLICATION_ALREADY_ISSUED', `application ${id} is issued already`, 409);
}

type Claimable = IssuableRow & { status: string };

/**
 * The approved application with the CA request id to issue it under. The
 * first claim sets the id and its audit record in one statement (one
 * transaction, one round trip); the UPDATE's row lock keeps two makers from
 * claiming at once, and the loser reads the winner's id. The claim leases the
 * application as the retrier does, so the retrier takes it over only if this
 * call never records an outcome (the RA stopped mid-call).
 */
async function claimForIssue(
  ctx: RaContext,
  actor: Actor,
  id: string,
): Promise<{ row: Claimable; caRequestId: string }> {
  for (;;) {
    const caRequestId = randomUUID();
    const claimed = await ctx.pool.query({
      name: 'ra-claim-issue',
      text: `WITH claimed AS (
               UPDATE applications SET ca_request_id = $2, next_issue_attempt_at = now() + make_interval(secs => $6)
                WHERE id = $1 AND status = 'approved' AND ca_request_id IS NULL
                RETURNING id, status, holder_type, holder, profile, template, template_version, encryption_template, encryption_template_version, holder_key, csr, dual
             ), audit AS (
               INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
               SELECT $3, $4, 'application.issue_request', 'application', id::text, $5::jsonb FROM claimed
             )
             SELECT status, holder_type, holder, profile, template, template_version, encryption_template, encryption_template_version, holder_key, csr, dual FROM claimed`,
      values: [id, caRequestId, actor.name, actor.role, JSON.stringify({ caRequestId }), leaseSeconds],
    });
    if (claimed.rows[0]) return { row: claimed.rows[0], caRequestId };
    const { rows } = await ctx.pool.query({
      name: 'ra-read-claim',
      text: `SELECT status, holder_type, holder, profile, template, template_version, encryption_template, encryption_template_version, holder_key, csr, dual, ca_request_id
               FROM applications WHERE id = $1`,
      values: [id],
    });
    const row = rows[0] as (Claimable & { ca_request_id: string | null }) | undefined;
    if (!row) throw new AppError('APPLICATION_NOT_FOUND', `no application ${id}`, 404);
    if (row.status === 'issued') throw alreadyIssued(id);
    if (row.status !== 'approved') {
      throw new AppError(
        'APPLICATION_NOT_APPROVED',
        `application ${id} is ${row.status}, not approved`,
        409,
        {
          status: row.status,
        },
      );
    }
    if (row.ca_request_id) return { row, caRequestId: row.ca_request_id };
  }
}

/**
 * Marks the application issued and hands out its download code: one statement,
 * so the status, the code and both audit records commit together. A reference
 * number that is taken aborts the whole statement, which then runs again with
 * a new one. Says too whether the application replaces a certificate, the only
 * kind that may have a revocation to send.
 */
export async function recordIssued(
  ctx: RaContext,
  actor: Actor & { id: string },
  id: string,
  answer: IssuedCertificates,
): Promise<IssuedView & { replacement: boolean }> {
  for (;;) {
    const { digest, ...download } = newDownloadCode(ctx.downloadCodeDays);
    try {
      const issued = await ctx.pool.query({
        name: 'ra-record-issued',
        text: `WITH issued AS (
                 UPDATE applications SET status = 'issued', issued_by = $2, issued_at = now(), issuer_id = $3, serial = $4,
                                         encryption_serial = $12, enveloped_key = $13
                  WHERE id = $1 AND status = 'approved'
                  RETURNING id, kind
               ), code AS (
                 INSERT INTO download_codes (reference, application_id, code_digest, expires_at)
                 SELECT $5, id, $6, $7 FROM issued
               ), audit AS (
                 INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, before, after)
                 SELECT $8, $9, 'application.issue', 'application', id::text, '{"status":"approved"}'::jsonb, $10::jsonb
                   FROM issued
                 UNION ALL
                 SELECT $8, $9, 'download_code.create', 'application', id::text, NULL::jsonb, $11::jsonb FROM issued
               ), ${replacedRevocationSql('issued', 'renewal', '$8', '$9')}
               SELECT kind FROM issued`,
        values: [
          id,
          actor.id,
          answer.issuerId,
          answer.serial,
          download.reference,
          digest,
          download.expiresAt,
          actor.name,
          actor.role,
          JSON.stringify(issuedAudit(answer)),
          JSON.stringify({ reference: download.reference, expiresAt: download.expiresAt }),
          answer.encryption?.serial ?? null,
          answer.encryption ? Buffer.from(answer.encryption.envelopedKey, 'base64') : null,
        ],
      });
      if (issued.rowCount === 1) {
        return {
          applicationId: id,
          issuerId: answer.issuerId,
          serial: answer.serial,
          ...(answer.encryption ? { encryption: { serial: answer.encryption.serial } } : {}),
          download,
          replacement: issued.rows[0].kind !== 'new',
        };
      }
    } catch (err) {
      const { code, constraint } = err as { code?: string; constraint?: string };
      if (code === '23505' && constraint === 'download_codes_pkey') continue;
      throw err;
    }
    // Only a twin issuing the same application moves it on from approved.
    throw alreadyIssued(id);
  }
}

export function registerIssuanceRoutes(app: HttpServer, ctx: RaContext): void {
  app.post(
    '/v1/applications/:id/issue',
    {
      config: { access: allowedTo('application.issue') },
      schema: {
        tags: ['applications'],
        summary:
          'A certificate maker has the CA issue an approved application; answers the download code, shown only here',
        params: IdParams,
        response: { 201: withExample(Issued, issuedExample) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { id } = request.params;
      // The request id is committed before the CA is called, so a retry after a
      // crash or timeout asks the CA for the same certificate, not a second one.
      const { row: approved, caRequestId } = await claimForIssue(ctx, actor, id);
      let answer: IssueAnswer;
      try {
        answer = await ctx.ca.issue(issueInstructionOf(approved, caRequestId));
      } catch (err) {
        // Kept on the application, so the retrier and the operators see why it is still approved or failed.
        await recordIssueFailure(ctx.pool, actor, id, err).catch((recordError: unknown) =>
          request.log.error({ err: recordError }, 'the failed CA call could not be recorded'),
        );
        throw err;
      }
      const { replacement, ...result } = await recordIssued(ctx, actor, id, answer);
      const supersession = replacement && (await sendReplacedRevocation(ctx, actor, id, request.log));
      return reply.status(201).send(supersession ? { ...result, supersession } : result);
    },
  );

  app.post(
    '/v1/applications/:id/download-code',
    {
      config: { access: allowedTo('application.renew_download_code') },
      schema: {
        tags: ['applications'],
        summary:
          "A certificate maker hands out a new download code for an issued application; the holder's unused codes stop working",
        params: IdParams,
        response: { 201: withExample(DownloadCode, downloadCodeExample) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { id } = request.params;
      const download = await withTransaction(ctx.pool, async (client) => {
        const row = await lockApplication(client, id);
        if (row.status !== 'issued') {
          throw new AppError(
            'APPLICATION_NOT_ISSUED',
            `application ${id} is ${row.status}, not issued`,
            409,
            {
              status: row.status,
            },
          );
        }
        const withdrawn = await client.query(
          `UPDATE download_codes SET expires_at = now()
            WHERE application_id = $1 AND used_at IS NULL AND expires_at > now() RETURNING reference`,
          [id],
        );
        if (withdrawn.rows.length > 0) {
          await recordAudit(client, actor, {
            action: 'download_code.withdraw',
            subjectType: 'application',
            subjectId: id,
            after: { references: withdrawn.rows.map((r) => r.reference) },
          });
        }
        return createDownloadCode(client, actor, id, ctx.downloadCodeDays);
      });
      return reply.status(201).send(download);
    },
  );
}
