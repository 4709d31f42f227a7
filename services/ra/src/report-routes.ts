import { Type } from '@sinclair/typebox';
import { allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import { Month } from './evidence-months.ts';
import type { RaContext } from './ra-context.ts';
import { reportFigures, reportPeriod } from './report-figures.ts';

const Count = Type.Integer({ minimum: 0 });
const Counts = Type.Object({ issued: Count, validAtEnd: Count, revoked: Count, renewed: Count });
const Seconds = Type.Union([Type.Number(), Type.Null()]);
const Spread = Type.Object({ p50: Seconds, p99: Seconds, max: Seconds });

const ReportFigures = Type.Object({
  period: Type.Object({
    kind: Type.Union([Type.Literal('year'), Type.Literal('month')]),
    label: Type.String(),
    from: Type.String(),
    to: Type.String(),
    start: Type.String({ format: 'date-time' }),
    end: Type.String({ format: 'date-time' }),
  }),
  certificates: Type.Object({
    total: Counts,
    byHolderType: Type.Object({ person: Counts, organisation: Counts, device: Counts }),
    byCertificateType: Type.Object({ signature: Counts, encryption: Counts }),
    byMonth: Type.Array(Type.Object({ month: Type.String(), issued: Count, revoked: Count, renewed: Count })),
  }),
  applications: Type.Object({
    received: Count,
    decided: Count,
    decidedOnTime: Count,
    onTimeShare: Type.Union([Type.Number(), Type.Null()]),
    months: Type.Array(
      Type.Object({
        month: Type.String(),
        received: Count,
        decided: Count,
        decidedOnTime: Count,
        onTimeShare: Type.Union([Type.Number(), Type.Null()]),
      }),
    ),
  }),
  revocations: Type.Object({
    ruleSeconds: Type.Integer(),
    requested: Count,
    onCrl: Count,
    overRule: Count,
    decidedToCrl: Spread,
    months: Type.Array(
      Type.Object({
        month: Type.String(),
        requested: Count,
        onCrl: Count,
        overRule: Count,
        requestedToDecided: Spread,
        decidedToDone: Spread,
        decidedToOcsp: Spread,
        decidedToCrl: Spread,
      }),
    ),
  }),
});

const counts = (issued: number) => ({ issued, validAtEnd: issued - 1, revoked: 1, renewed: 0 });
const example = {
  period: {
    kind: 'month' as const,
    label: '2026-11',
    from: '2026-11',
    to: '2026-11',
    start: '2026-10-31T16:00:00.000Z',
    end: '2026-11-30T16:00:00.000Z',
  },
  certificates: {
    total: counts(6),
    byHolderType: { person: counts(4), organisation: counts(1), device: counts(1) },
    byCertificateType: { signature: counts(4), encryption: counts(2) },
    byMonth: [{ month: '2026-11', issued: 6, revoked: 1, renewed: 0 }],
  },
  applications: {
    received: 5,
    decided: 4,
    decidedOnTime: 4,
    onTimeShare: 1,
    months: [{ month: '2026-11', received: 5, decided: 4, decidedOnTime: 4, onTimeShare: 1 }],
  },
  revocations: {
    ruleSeconds: 86_400,
    requested: 1,
    onCrl: 1,
    overRule: 0,
    decidedToCrl: { p50: 40, p99: 40, max: 40 },
    months: [
      {
        month: '2026-11',
        requested: 1,
        onCrl: 1,
        overRule: 0,
        requestedToDecided: { p50: 3600, p99: 3600, max: 3600 },
        decidedToDone: { p50: 1, p99: 1, max: 1 },
        decidedToOcsp: { p50: 1, p99: 1, max: 1 },
        decidedToCrl: { p50: 40, p99: 40, max: 40 },
      },
    ],
  },
};

/** The statistics of the annual report template (issuance, applications, revocations) for a year or a month. */
export function registerReportRoutes(app: HttpServer, ctx: RaContext): void {
  app.get(
    '/v1/evidence/report',
    {
      config: { access: allowedTo('evidence.read') },
      schema: {
        tags: ['evidence'],
        summary:
          'Annual report statistics for a year or a month (China Standard Time): certificates issued, valid at the end, revoked and renewed by holder type and certificate type; applications decided on time; revocation timeliness',
        querystring: Type.Object({
          year: Type.Optional(Type.String({ pattern: '^[0-9]{4}$', examples: ['2026'] })),
          month: Type.Optional(Month),
        }),
        response: { 200: withExample(ReportFigures, example) },
      },
    },
    async (request) => reportFigures(ctx.pool, reportPeriod(request.query)),
  );
}
