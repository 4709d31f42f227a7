import { allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import { applicationExample, reviewExample, revocationExample } from './api-examples.ts';
import { ApplicationView } from './application-view.ts';
import { actorOf, IdParams, type RaContext, ReviewBody } from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';
import { decideApplication } from './review.ts';
import { decideRevocation, RevocationView } from './revocations.ts';

/**
 * Administrators' own certificates go through the RA workflow like a holder's (the entry clerk
 * enters the application, renewal, re-key, freeze, unfreeze or revocation; the certificate
 * maker issues), but a super admin decides them here instead of a reviewer: never the operator
 * the certificate is for, never the one who entered the request.
 */
export function registerOperatorCertificateRoutes(app: HttpServer, ctx: RaContext): void {
  app.post(
    '/v1/admin/operator-certificates/applications/:id/review',
    {
      config: { access: allowedTo('operator_certificate.decide') },
      onError: auditRefusals(ctx.pool, 'application'),
      schema: {
        tags: ['administration'],
        summary:
          "A super admin approves or rejects an application, renewal or re-key of an operator's own (operator-sign) certificate",
        params: IdParams,
        body: withExample(ReviewBody, reviewExample),
        response: {
          200: withExample(ApplicationView, {
            ...applicationExample,
            profile: 'operator-sign',
            operatorId: '7',
          }),
        },
      },
    },
    async (request) =>
      decideApplication(ctx, actorOf(request), request.params.id, request.body, 'super_admin', request.log),
  );

  app.post(
    '/v1/admin/operator-certificates/revocations/:id/review',
    {
      config: { access: allowedTo('operator_certificate.decide') },
      onError: auditRefusals(ctx.pool, 'revocation_request'),
      schema: {
        tags: ['administration'],
        summary:
          "A super admin decides the revocation, freeze or unfreeze of an operator's own certificate; on approval the RA instructs the CA",
        params: IdParams,
        body: withExample(ReviewBody, reviewExample),
        response: { 200: withExample(RevocationView, revocationExample) },
      },
    },
    async (request) =>
      decideRevocation(ctx, actorOf(request), request.params.id, request.body, 'super_admin'),
  );
}
