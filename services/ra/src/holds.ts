import { Type } from '@sinclair/typebox';
import { allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { revocationExample } from './api-examples.ts';
import { actorOf, type RaContext } from './ra-context.ts';
import { enterRevocation, RevocationView } from './revocations.ts';

const HoldBody = Type.Object(
  {
    issuerId: Type.String({ minLength: 1, maxLength: 128 }),
    serial: Type.String({ pattern: '^[0-9A-Fa-f:]{1,64}$', description: 'hex, colons allowed' }),
    requestedBy: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'who asked: the holder, their organisation, the CA, …',
    }),
    includeTwin: Type.Optional(
      Type.Boolean({
        default: false,
        description: "true: the certificate's dual-enrollment twin too, in the same request",
      }),
    ),
  },
  { additionalProperties: false },
);

const holdExample = {
  issuerId: 'sub',
  serial: '047486ac30b0188b29c85a61320b67cb',
  requestedBy: 'holder, by phone, identity checked',
};

/**
 * Freeze (冻结) and unfreeze (解冻): a suspension with reason certificateHold and its release.
 * Both are revocation requests (kind revoke or release), so they are reviewed, retried and
 * listed with the other revocations (/v1/revocations/:id/review, …/retry). A frozen certificate
 * can still be revoked for good there; a revoked one is never released.
 */
export function registerHoldRoutes(app: HttpServer, ctx: RaContext): void {
  app.post(
    '/v1/freezes',
    {
      config: { access: allowedTo('freeze.enter') },
      schema: {
        tags: ['revocations'],
        summary:
          'An entry clerk records a request to freeze (suspend, certificateHold) a certificate; reviewed at /v1/revocations/:id/review',
        body: withExample(HoldBody, holdExample),
        response: {
          201: withExample(RevocationView, { ...revocationExample, reason: 'certificateHold', twin: null }),
        },
      },
    },
    async (request, reply) => {
      const { includeTwin = false, ...body } = request.body;
      const view = await withTransaction(ctx.pool, (client) =>
        enterRevocation(client, actorOf(request), {
          ...body,
          kind: 'revoke',
          reason: 'certificateHold',
          includeTwin,
        }),
      );
      return reply.status(201).send(view);
    },
  );

  app.post(
    '/v1/unfreezes',
    {
      config: { access: allowedTo('unfreeze.enter') },
      schema: {
        tags: ['revocations'],
        summary:
          'An entry clerk records a request to unfreeze (release from hold) a certificate; reviewed at /v1/revocations/:id/review',
        body: withExample(HoldBody, holdExample),
        response: {
          201: withExample(RevocationView, {
            ...revocationExample,
            kind: 'release',
            reason: 'removeFromCRL',
            twin: null,
          }),
        },
      },
    },
    async (request, reply) => {
      const { includeTwin = false, ...body } = request.body;
      const view = await withTransaction(ctx.pool, (client) =>
        enterRevocation(client, actorOf(request), {
          ...body,
          kind: 'release',
          reason: 'removeFromCRL',
          includeTwin,
        }),
      );
      return reply.status(201).send(view);
    },
  );
}
