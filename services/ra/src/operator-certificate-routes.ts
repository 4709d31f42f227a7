import { Type } from '@sinclair/typebox';
import { allowedTo, type HttpServer, Paging, withExample } from '@sm2ca/platform';
import { applicationExample, reviewExample, revocationExample } from './api-examples.ts';
import { ApplicationView } from './application-view.ts';
import { auditHolderRead } from './holder-read-audit.ts';
import { loginProfile } from './login-certificates.ts';
import {
  actorOf,
  IdParams,
  iso,
  literals,
  Nullable,
  type RaContext,
  ReviewBody,
  Time,
} from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';
import { decideApplication } from './review.ts';
import { decideRevocation, RevocationView, revocationSelect, toRevocationView } from './revocations.ts';

const OperatorCertificateView = Type.Object({
  issuerId: Type.String(),
  serial: Type.String(),
  operatorId: Nullable(
    Type.String({ description: 'the operator it was applied for (or is bound to for login)' }),
  ),
  operator: Nullable(Type.String()),
  status: literals(['good', 'hold', 'revoked']),
  subject: Type.String(),
  notBefore: Time,
  notAfter: Time,
  expired: Type.Boolean(),
  loginBound: Type.Boolean({ description: 'enrolled for certificate login' }),
});

const OperatorRevocationView = Type.Composite([
  RevocationView,
  Type.Object({
    operatorId: Nullable(Type.String({ description: 'the operator whose certificate it is' })),
    operator: Nullable(Type.String()),
  }),
]);

const OperatorCertificateQuery = Type.Object(
  {
    operatorId: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,17}$' })),
    status: Type.Optional(literals(['good', 'hold', 'revoked'])),
    ...Paging,
  },
  { additionalProperties: false },
);

const operatorCertificateExample = {
  issuerId: 'sub',
  serial: '5f1c0a',
  operatorId: '7',
  operator: 'pat',
  status: 'good' as const,
  subject: 'CN=Pat,C=CN',
  notBefore: '2026-12-03T08:00:00.000Z',
  notAfter: '2028-12-02T08:00:00.000Z',
  expired: false,
  loginBound: true,
};

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

  app.get(
    '/v1/admin/operator-certificates/revocations',
    {
      config: { access: allowedTo('operator_certificate.read') },
      onError: auditRefusals(ctx.pool, 'revocation_request'),
      schema: {
        tags: ['administration'],
        summary:
          "Submitted revocations, freezes and unfreezes of operators' own certificates, oldest first, with the operator each is for: a super admin decides them",
        response: {
          200: withExample(Type.Object({ items: Type.Array(OperatorRevocationView) }), {
            items: [{ ...revocationExample, status: 'submitted', operatorId: '7', operator: 'pat' }],
          }),
        },
      },
    },
    async (request) => {
      const { rows } = await ctx.pool.query(
        `SELECT v.*, coalesce(a.operator_id, oc.operator_id) AS operator_id, o.name AS operator,
                coalesce(c.holder_key, a.holder_key) AS holder_key
           FROM (${revocationSelect}) v
           JOIN certificates c ON c.issuer_id = v.issuer_id AND c.serial = v.serial
           LEFT JOIN applications a ON a.issuer_id = c.issuer_id AND a.serial = c.serial AND a.status = 'issued'
           LEFT JOIN operator_certificates oc ON oc.issuer_id = c.issuer_id AND oc.serial = c.serial
           LEFT JOIN operators o ON o.id = coalesce(a.operator_id, oc.operator_id)
          WHERE c.profile = $1 AND v.status = 'submitted'
          ORDER BY v.id LIMIT 500`,
        [loginProfile],
      );
      const items = rows.map((row) => ({
        ...toRevocationView(row),
        operatorId: row.operator_id === null ? null : String(row.operator_id),
        operator: row.operator as string | null,
        holderKey: row.holder_key as string | null,
      }));
      // The requests name operators as persons: reading them is on record like a holder's.
      await auditHolderRead(ctx.pool, request, items);
      return { items: items.map(({ holderKey: _, ...view }) => view) };
    },
  );

  app.get(
    '/v1/admin/operator-certificates',
    {
      config: { access: allowedTo('operator_certificate.read') },
      schema: {
        tags: ['administration'],
        summary: "Operators' own (operator-sign) certificates, newest first, with the operator each is for",
        querystring: OperatorCertificateQuery,
        response: {
          200: withExample(Type.Object({ items: Type.Array(OperatorCertificateView) }), {
            items: [operatorCertificateExample],
          }),
        },
      },
    },
    async (request) => {
      const { operatorId, status, limit, offset } = request.query;
      const { rows } = await ctx.pool.query(
        `SELECT c.issuer_id, c.serial, c.status, c.subject, c.not_before, c.not_after, c.not_after <= now() AS expired,
                coalesce(a.operator_id, oc.operator_id) AS operator_id, o.name AS operator,
                oc.operator_id IS NOT NULL AS login_bound, coalesce(c.holder_key, a.holder_key) AS holder_key
           FROM certificates c
           LEFT JOIN applications a ON a.issuer_id = c.issuer_id AND a.serial = c.serial AND a.status = 'issued'
           LEFT JOIN operator_certificates oc ON oc.issuer_id = c.issuer_id AND oc.serial = c.serial
           LEFT JOIN operators o ON o.id = coalesce(a.operator_id, oc.operator_id)
          WHERE c.profile = 'operator-sign' AND c.status <> 'planned'
            AND ($1::bigint IS NULL OR coalesce(a.operator_id, oc.operator_id) = $1)
            AND ($2::text IS NULL OR c.status = $2)
          ORDER BY c.not_before DESC, c.serial LIMIT $3 OFFSET $4`,
        [operatorId ?? null, status ?? null, limit, offset],
      );
      const items = rows.map((row) => ({
        holderKey: row.holder_key as string | null,
        issuerId: row.issuer_id as string,
        serial: row.serial as string,
        operatorId: row.operator_id === null ? null : String(row.operator_id),
        operator: row.operator as string | null,
        status: row.status as 'good' | 'hold' | 'revoked',
        subject: row.subject as string,
        notBefore: iso(row.not_before)!,
        notAfter: iso(row.not_after)!,
        expired: row.expired as boolean,
        loginBound: row.login_bound as boolean,
      }));
      // Operators' certificates name persons: reading them is on record like any holder's.
      await auditHolderRead(ctx.pool, request, items, (item) => `${item.issuerId}/${item.serial}`);
      return { items: items.map(({ holderKey: _, ...view }) => view) };
    },
  );
}
