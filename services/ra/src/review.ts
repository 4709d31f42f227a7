import type { Static } from '@sinclair/typebox';
import {
  type Actor,
  AppError,
  allowedTo,
  type HttpServer,
  recordAudit,
  refuseKeyReuse,
  withExample,
} from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import type { FastifyBaseLogger } from 'fastify';
import { applicationExample, reviewExample } from './api-examples.ts';
import { ApplicationView, lockApplication, readApplication } from './application-view.ts';
import { csrKeyBinding } from './holder-csr.ts';
import {
  concernOfApplication,
  type Decider,
  deciderRefusals,
  requireDecider,
} from './operator-certificates.ts';
import { actorOf, IdParams, type RaContext, ReviewBody, requireReason } from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';
import { replaceableCertificate } from './replaced-certificate.ts';
import { recordReplacedRevocation, sendReplacedRevocation } from './supersession.ts';

export function registerReviewRoutes(app: HttpServer, ctx: RaContext): void {
  app.post(
    '/v1/applications/:id/review',
    {
      config: { access: allowedTo('application.review') },
      onError: auditRefusals(ctx.pool, 'application', undefined, deciderRefusals),
      schema: {
        tags: ['applications'],
        summary:
          "A reviewer other than the entry clerk approves or rejects a submitted application; an operator's own certificate is decided at /v1/admin/operator-certificates/applications/:id/review",
        params: IdParams,
        body: withExample(ReviewBody, reviewExample),
        response: { 200: withExample(ApplicationView, applicationExample) },
      },
    },
    async (request) =>
      decideApplication(ctx, actorOf(request), request.params.id, request.body, 'reviewer', request.log),
  );
}

/**
 * A decision on a submitted application (new, renewal or re-key) by someone other than its entry
 * clerk: a reviewer, or for an operator's own certificate a super admin (requireDecider).
 */
export async function decideApplication(
  ctx: RaContext,
  actor: Actor & { id: string },
  id: string,
  { decision, reason }: Static<typeof ReviewBody>,
  decider: Decider,
  log: FastifyBaseLogger,
): Promise<Static<typeof ApplicationView>> {
  requireReason(decision, reason);
  const decided = await withTransaction(ctx.pool, async (client) => {
    const row = await lockApplication(client, id);
    requireDecider(decider, actor, concernOfApplication(row));
    if (String(row.entered_by) === actor.id) {
      throw new AppError('SAME_OPERATOR', 'the operator who entered an application may not review it', 403);
    }
    if (row.status !== 'submitted') {
      throw new AppError('APPLICATION_ALREADY_REVIEWED', `application ${id} is already ${row.status}`, 409, {
        status: row.status,
      });
    }
    // The key may have been certified elsewhere since entry; the CA would refuse it anyway.
    if (decision === 'approve') {
      await refuseKeyReuse(client, csrKeyBinding(row.csr, row.holder_key, row.profile));
      // The certificate to replace may have been revoked or run out since entry.
      if (row.kind !== 'new') {
        await replaceableCertificate(client, row.kind, row.replaces_issuer_id!, row.replaces_serial!);
      }
    }
    const status = decision === 'approve' ? 'approved' : 'rejected';
    await client.query(
      `UPDATE applications SET status = $2, reviewed_by = $3, reviewed_at = now(), review_reason = $4
        WHERE id = $1`,
      [id, status, actor.id, reason?.trim() ?? null],
    );
    const after = await readApplication(client, id);
    await recordAudit(client, actor, {
      action: `application.${decision}`,
      subjectType: 'application',
      subjectId: id,
      before: { status: row.status },
      after: { status, reviewReason: after.reviewReason },
    });
    // A compromised key is revoked on the reviewer's word, not when the maker gets to the replacement.
    if (decision === 'approve' && row.kind === 'rekey') {
      await recordReplacedRevocation(client, actor, id, 'rekey');
    }
    return after;
  });
  if (decided.kind === 'rekey' && decided.status === 'approved') {
    await sendReplacedRevocation(ctx, actor, id, log);
  }
  return decided;
}
