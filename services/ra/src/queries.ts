import { Type } from '@sinclair/typebox';
import { AppError, allowedTo, type HttpServer, Paging, withExample } from '@sm2ca/platform';
import { applicationExample, certificateExample } from './api-examples.ts';
import {
  ApplicationView,
  applicationKinds,
  applicationSelect,
  applicationStatuses,
  readApplication,
  toApplicationView,
} from './application-view.ts';
import {
  CertificateView,
  certificateSelect,
  certificateStatuses,
  toCertificateView,
} from './certificate-view.ts';
import { auditHolderRead } from './holder-read-audit.ts';
import { IdParams, literals, type RaContext, Time } from './ra-context.ts';

const HolderKey = Type.String({
  minLength: 3,
  maxLength: 200,
  description:
    'identifier type and value, e.g. resident-id:11010519491231002X, uscc:…, device:host.example.cn',
});

const ApplicationQuery = Type.Object({
  status: Type.Optional(literals(applicationStatuses)),
  overdue: Type.Optional(
    Type.Boolean({ description: 'true: only undecided applications past their deadline' }),
  ),
  holderKey: Type.Optional(HolderKey),
  kind: Type.Optional(literals(applicationKinds, { description: 'new applications, renewals or re-keys' })),
  ...Paging,
});

const certificateStates = [...certificateStatuses, 'expired', 'archived'] as const;

const CertificateQuery = Type.Object({
  serial: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f:]{1,64}$' })),
  issuerId: Type.Optional(Type.String({ minLength: 1 })),
  holderKey: Type.Optional(HolderKey),
  residentId: Type.Optional(
    Type.String({
      pattern: '^[0-9]{17}[0-9Xx]$',
      description: "a person's resident identity number (GB 11643)",
    }),
  ),
  uscc: Type.Optional(
    Type.String({
      pattern: '^[0-9A-HJ-NPQRTUWXY]{18}$',
      description: "an organisation's unified social credit code (GB 32100)",
    }),
  ),
  subject: Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: 'part of the subject name, any case' }),
  ),
  status: Type.Optional(
    literals(certificateStates, {
      description:
        'good, revoked, hold: as OCSP answers; expired: past notAfter and not yet archived; archived: in the archive',
    }),
  ),
  profile: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  issuedAfter: Type.Optional(Time),
  issuedBefore: Type.Optional(Time),
  expiresAfter: Type.Optional(Time),
  expiresBefore: Type.Optional(Time),
  ...Paging,
});

const certificateId = (view: CertificateView) => `${view.issuerId}/${view.serial}`;

const normalSerial = (serial: string) => serial.replaceAll(':', '').toLowerCase();

export function registerQueryRoutes(app: HttpServer, ctx: RaContext): void {
  app.get(
    '/v1/applications',
    {
      config: { access: allowedTo('application.read') },
      schema: {
        tags: ['applications'],
        summary: 'Applications by status, overdue-ness or holder; most urgent deadline first',
        querystring: ApplicationQuery,
        response: {
          200: withExample(Type.Object({ items: Type.Array(ApplicationView) }), {
            items: [applicationExample],
          }),
        },
      },
    },
    async (request) => {
      const { status, overdue, holderKey, kind, limit, offset } = request.query;
      const { rows } = await ctx.pool.query(
        `${applicationSelect}
          WHERE ($1::text IS NULL OR a.status = $1)
            AND ($2::boolean IS NULL OR (a.status = 'submitted' AND a.deadline < now()) = $2)
            AND ($3::text IS NULL OR a.holder_key = $3)
            AND ($4::text IS NULL OR a.kind = $4)
          ORDER BY a.deadline, a.id LIMIT $5 OFFSET $6`,
        [status ?? null, overdue ?? null, holderKey ?? null, kind ?? null, limit, offset],
      );
      return { items: await auditHolderRead(ctx.pool, request, rows.map(toApplicationView)) };
    },
  );

  app.get(
    '/v1/applications/:id',
    {
      config: { access: allowedTo('application.read') },
      schema: {
        tags: ['applications'],
        params: IdParams,
        response: { 200: withExample(ApplicationView, applicationExample) },
      },
    },
    async (request) => {
      const [view] = await auditHolderRead(ctx.pool, request, [
        await readApplication(ctx.pool, request.params.id),
      ]);
      return view;
    },
  );

  app.get(
    '/v1/certificates',
    {
      config: { access: allowedTo('certificate.read') },
      schema: {
        tags: ['certificates'],
        summary:
          'Issued certificates, archived ones included, by serial, issuer, holder identity, subject, status, profile or time; newest first',
        querystring: CertificateQuery,
        response: {
          200: withExample(Type.Object({ items: Type.Array(CertificateView) }), {
            items: [certificateExample],
          }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const { rows } = await ctx.pool.query(
        `${certificateSelect}
            AND ($1::text IS NULL OR c.serial = $1)
            AND ($2::text IS NULL OR c.issuer_id = $2)
            AND ($3::text IS NULL OR coalesce(c.holder_key, a.holder_key) = $3)
            AND ($4::text IS NULL OR coalesce(c.holder_key, a.holder_key) = $4)
            AND ($5::text IS NULL OR coalesce(c.holder_key, a.holder_key) = $5)
            AND ($6::text IS NULL OR strpos(lower(c.subject), lower($6)) > 0)
            AND ($7::text IS NULL OR ($7 IN ('good', 'revoked', 'hold') AND c.status = $7)
                 OR ($7 = 'expired' AND c.not_after <= now() AND x.serial IS NULL)
                 OR ($7 = 'archived' AND x.serial IS NOT NULL))
            AND ($8::text IS NULL OR c.profile = $8)
            AND ($9::timestamptz IS NULL OR c.issued_at >= $9)
            AND ($10::timestamptz IS NULL OR c.issued_at < $10)
            AND ($11::timestamptz IS NULL OR c.not_after >= $11)
            AND ($12::timestamptz IS NULL OR c.not_after < $12)
          ORDER BY c.planned_at DESC, c.serial LIMIT $13 OFFSET $14`,
        [
          q.serial ? normalSerial(q.serial) : null,
          q.issuerId ?? null,
          q.holderKey ?? null,
          q.residentId ? `resident-id:${q.residentId.toUpperCase()}` : null,
          q.uscc ? `uscc:${q.uscc}` : null,
          q.subject ?? null,
          q.status ?? null,
          q.profile ?? null,
          q.issuedAfter ?? null,
          q.issuedBefore ?? null,
          q.expiresAfter ?? null,
          q.expiresBefore ?? null,
          q.limit,
          q.offset,
        ],
      );
      return { items: await auditHolderRead(ctx.pool, request, rows.map(toCertificateView), certificateId) };
    },
  );

  app.get(
    '/v1/certificates/:issuerId/:serial',
    {
      config: { access: allowedTo('certificate.read') },
      schema: {
        tags: ['certificates'],
        params: Type.Object({
          issuerId: Type.String({ minLength: 1 }),
          serial: Type.String({ pattern: '^[0-9A-Fa-f:]{1,64}$' }),
        }),
        response: { 200: withExample(CertificateView, certificateExample) },
      },
    },
    async (request) => {
      const { issuerId } = request.params;
      const serial = normalSerial(request.params.serial);
      const { rows } = await ctx.pool.query(`${certificateSelect} AND c.issuer_id = $1 AND c.serial = $2`, [
        issuerId,
        serial,
      ]);
      if (!rows[0])
        throw new AppError('CERTIFICATE_NOT_FOUND', `issuer ${issuerId} has no certificate ${serial}`, 404);
      const [view] = await auditHolderRead(ctx.pool, request, [toCertificateView(rows[0])], certificateId);
      return view;
    },
  );
}
