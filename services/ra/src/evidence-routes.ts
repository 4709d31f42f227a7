import { Type } from '@sinclair/typebox';
import { allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import { decisionsByMonth, undecidedByDeadline } from './deadline-clock.ts';
import { MonthRange, monthRange } from './evidence-months.ts';
import type { RaContext } from './ra-context.ts';
import { crlRuleSeconds, revocationMonths, revocationTimes } from './revocation-clock.ts';

const Seconds = Type.Union([Type.Number(), Type.Null()]);
const Spread = Type.Object({ p50: Seconds, p99: Seconds, max: Seconds });
const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()]);

const DeadlineEntry = Type.Object({
  applicationId: Type.String(),
  holderType: Type.String(),
  profile: Type.String(),
  enteredAt: Type.String({ format: 'date-time' }),
  deadline: Type.String({ format: 'date-time' }),
  deadlineProvisional: Type.Boolean(),
  hoursLeft: Type.Number({ description: 'negative when overdue' }),
});

const RevocationTimes = Type.Object({
  requestId: Type.String(),
  issuerId: Type.String(),
  serial: Type.String(),
  reason: Type.String(),
  status: Type.String(),
  requestedAt: Type.String({ format: 'date-time' }),
  decidedAt: Nullable(Type.String({ format: 'date-time' })),
  doneAt: Nullable(Type.String({ format: 'date-time' })),
  ocspAt: Nullable(Type.String({ format: 'date-time' })),
  firstCrlAt: Nullable(Type.String({ format: 'date-time' })),
  decidedToCrlSeconds: Seconds,
});

const RevocationClock = Type.Object({
  ruleSeconds: Type.Integer(),
  months: Type.Array(
    Type.Object({
      month: Type.String(),
      requested: Type.Integer(),
      onCrl: Type.Integer(),
      overRule: Type.Integer(),
      requestedToDecided: Spread,
      decidedToDone: Spread,
      decidedToOcsp: Spread,
      decidedToCrl: Spread,
    }),
  ),
  revocations: Type.Optional(Type.Array(RevocationTimes)),
});

const spreadExample = { p50: 3600, p99: 20_000, max: 21_600 };
const revocationClockExample = {
  ruleSeconds: 86_400,
  months: [
    {
      month: '2026-11',
      requested: 14,
      onCrl: 14,
      overRule: 0,
      requestedToDecided: spreadExample,
      decidedToDone: { p50: 1, p99: 2, max: 2 },
      decidedToOcsp: { p50: 1, p99: 2, max: 2 },
      decidedToCrl: { p50: 40, p99: 75, max: 75 },
    },
  ],
};

/** The deadline clock and the revocation clock: the evidence behind the 2-working-day and 24-hour rules. */
export function registerEvidenceRoutes(app: HttpServer, ctx: RaContext): void {
  app.get(
    '/v1/evidence/deadlines',
    {
      config: { access: allowedTo('evidence.read') },
      schema: {
        tags: ['evidence'],
        summary: 'Undecided applications past their 2-working-day deadline, and those due within N hours',
        querystring: Type.Object({
          withinHours: Type.Integer({ minimum: 0, maximum: 720, default: 24 }),
        }),
        response: {
          200: withExample(
            Type.Object({ overdue: Type.Array(DeadlineEntry), dueSoon: Type.Array(DeadlineEntry) }),
            {
              overdue: [
                {
                  applicationId: '42',
                  holderType: 'person',
                  profile: 'person-sign',
                  enteredAt: '2026-11-27T02:00:00.000Z',
                  deadline: '2026-12-01T10:00:00.000Z',
                  deadlineProvisional: false,
                  hoursLeft: -3.5,
                },
              ],
              dueSoon: [],
            },
          ),
        },
      },
    },
    async (request) => undecidedByDeadline(ctx.pool, request.query.withinHours),
  );

  app.get(
    '/v1/evidence/deadlines/monthly',
    {
      config: { access: allowedTo('evidence.read') },
      schema: {
        tags: ['evidence'],
        summary: 'Per month (China Standard Time): applications received, decided, and decided on time',
        querystring: MonthRange,
        response: {
          200: withExample(
            Type.Object({
              months: Type.Array(
                Type.Object({
                  month: Type.String(),
                  received: Type.Integer(),
                  decided: Type.Integer(),
                  decidedOnTime: Type.Integer(),
                  onTimeShare: Type.Union([Type.Number(), Type.Null()]),
                }),
              ),
            }),
            {
              months: [
                { month: '2026-11', received: 120, decided: 118, decidedOnTime: 117, onTimeShare: 0.9915 },
              ],
            },
          ),
        },
      },
    },
    async (request) => ({ months: await decisionsByMonth(ctx.pool, monthRange(request.query)) }),
  );

  app.get(
    '/v1/evidence/revocations',
    {
      config: { access: allowedTo('evidence.read') },
      schema: {
        tags: ['evidence'],
        summary:
          'Revocation clock: per revocation requested → decided → done → OCSP → first CRL, and per month p50/p99/max against the 24-hour rule',
        querystring: Type.Object({
          ...MonthRange.properties,
          detail: Type.Boolean({ default: false, description: 'also list every revocation request' }),
        }),
        response: {
          200: withExample(RevocationClock, revocationClockExample),
        },
      },
    },
    async (request) => {
      const range = monthRange(request.query);
      const times = await revocationTimes(ctx.pool, range);
      return {
        ruleSeconds: crlRuleSeconds,
        months: revocationMonths(range, times),
        ...(request.query.detail ? { revocations: times } : {}),
      };
    },
  );
}
