import { type Static, Type } from '@sinclair/typebox';
import { AppError, allowedTo, type HttpServer, Paging, withExample } from '@sm2ca/platform';
import { applicationExample, certificateExample } from './api-examples.ts';
import {
  ApplicationView,
  applicationSelect,
  applicationStatuses,
  readApplication,
  toApplicationView,
} from './application-view.ts';
import { auditHolderRead } from './holder-read-audit.ts';
import { IdParams, iso, literals, Nullable, type RaContext, Time } from './ra-context.ts';

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
  ...Paging,
});

const certificateStatuses = ['good', 'revoked', 'hold'] as const;

const CertificateView = Type.Object({
  issuerId: Type.String(),
  serial: Type.String(),
  status: literals(certificateStatuses),
  profile: Type.String(),
  subject: Type.String(),
  holderKey: Nullable(Type.String()),
  applicationId: Nullable(Type.String()),
  twinSerial: Nullable(
    Type.String({
      description: 'the other certificate of a dual-enrollment pair (signature ↔ encryption), same issuer',
    }),
  ),
  notBefore: Time,
  notAfter: Time,
  issuedAt: Nullable(Time),
  revokedAt: Nullable(Time),
  revocationReason: Nullable(Type.String()),
});
type CertificateView = Static<typeof CertificateView>;

const CertificateQuery = Type.Object({
  serial: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f:]{1,64}$' })),
  issuerId: Type.Optional(Type.String({ minLength: 1 })),
  holderKey: Type.Optional(HolderKey),
  status: Type.Optional(literals(certificateStatuses)),
  ...Paging,
});

// The CA does not learn the RA's holder key; the application that led to a certificate supplies it,
// and for a dual application the certificate's twin.
const certificateSelect = `
  SELECT c.*, coalesce(c.holder_key, a.holder_key) AS holder, a.id AS application_id,
         CASE WHEN a.serial = c.serial THEN a.encryption_serial ELSE a.serial END AS twin_serial
    FROM certificates c
    LEFT JOIN applications a
      ON a.issuer_id = c.issuer_id AND (a.serial = c.serial OR a.encryption_serial = c.serial)
   WHERE c.status <> 'planned'`;

type Row = Record<string, unknown>;

function toCertificateView(row: Row): CertificateView {
  return {
    issuerId: row.issuer_id as string,
    serial: row.serial as string,
    status: row.status as CertificateView['status'],
    profile: row.profile as string,
    subject: row.subject as string,
    holderKey: (row.holder as string | null) ?? null,
    applicationId: row.application_id == null ? null : String(row.application_id),
    twinSerial: (row.twin_serial as string | null) ?? null,
    notBefore: iso(row.not_before)!,
    notAfter: iso(row.not_after)!,
    issuedAt: iso(row.issued_at),
    revokedAt: iso(row.revoked_at),
    revocationReason: (row.revocation_reason as string | null) ?? null,
  };
}

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
      const { status, overdue, holderKey, limit, offset } = request.query;
      const { rows } = await ctx.pool.query(
        `${applicationSelect}
          WHERE ($1::text IS NULL OR a.status = $1)
            AND ($2::boolean IS NULL OR (a.status = 'submitted' AND a.deadline < now()) = $2)
            AND ($3::text IS NULL OR a.holder_key = $3)
          ORDER BY a.deadline, a.id LIMIT $4 OFFSET $5`,
        [status ?? null, overdue ?? null, holderKey ?? null, limit, offset],
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
        summary: 'Issued certificates by serial, issuer, holder or status; newest first',
        querystring: CertificateQuery,
        response: {
          200: withExample(Type.Object({ items: Type.Array(CertificateView) }), {
            items: [certificateExample],
          }),
        },
      },
    },
    async (request) => {
      const { serial, issuerId, holderKey, status, limit, offset } = request.query;
      const { rows } = await ctx.pool.query(
        `${certificateSelect}
            AND ($1::text IS NULL OR c.serial = $1)
            AND ($2::text IS NULL OR c.issuer_id = $2)
            AND ($3::text IS NULL OR coalesce(c.holder_key, a.holder_key) = $3)
            AND ($4::text IS NULL OR c.status = $4)
          ORDER BY c.planned_at DESC, c.serial LIMIT $5 OFFSET $6`,
        [
          serial ? normalSerial(serial) : null,
          issuerId ?? null,
          holderKey ?? null,
          status ?? null,
          limit,
          offset,
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
