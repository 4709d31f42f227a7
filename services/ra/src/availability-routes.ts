import { Type } from '@sinclair/typebox';
import {
  AppError,
  allowedTo,
  DateTime,
  type HttpServer,
  Paging,
  parseDateTime,
  recordAudit,
  withExample,
} from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import {
  availabilityByPeriod,
  availabilityRange,
  availabilityTarget,
  granularities,
} from './availability.ts';
import { actorOf, iso, literals, Nullable } from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';

export const monitoredServices = ['ra', 'ocsp', 'crl', 'directory'] as const;

/** A window may be announced at most this far back: maintenance is planned, not explained afterwards. */
const backdatingLimitMs = 3600_000;

const Seconds = Type.Number({ minimum: 0 });

const ServiceAvailability = Type.Object({
  service: Type.String(),
  probes: Type.Integer(),
  failedProbes: Type.Integer(),
  measuredSeconds: Seconds,
  downSeconds: Seconds,
  plannedSeconds: Seconds,
  availability: Type.Union([Type.Number(), Type.Null()]),
  meetsTarget: Type.Union([Type.Boolean(), Type.Null()]),
});

const Availability = Type.Object({
  target: Type.Number(),
  periods: Type.Array(Type.Object({ period: Type.String(), services: Type.Array(ServiceAvailability) })),
});

const MaintenanceWindow = Type.Object({
  id: Type.String(),
  service: Nullable(literals(monitoredServices)),
  startsAt: Type.String({ format: 'date-time' }),
  endsAt: Type.String({ format: 'date-time' }),
  reason: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

const windowExample = {
  id: '7',
  service: 'ocsp' as const,
  startsAt: '2026-12-05T18:00:00.000Z',
  endsAt: '2026-12-05T18:30:00.000Z',
  reason: 'database minor version upgrade',
  createdBy: 'Li Shen',
  createdAt: '2026-12-03T02:00:00.000Z',
};

function windowView(row: Record<string, unknown>) {
  return {
    id: String(row.id),
    service: row.service as (typeof monitoredServices)[number] | null,
    startsAt: iso(row.starts_at) as string,
    endsAt: iso(row.ends_at) as string,
    reason: row.reason as string,
    createdBy: row.created_by as string,
    createdAt: iso(row.created_at) as string,
  };
}

/**
 * Availability against the 99.9% rule, computed from the monitor's probes, and the planned
 * maintenance windows whose down time counts apart.
 */
export function registerAvailabilityRoutes(app: HttpServer, ctx: { pool: Pool }): void {
  app.get(
    '/v1/evidence/availability',
    {
      config: { access: allowedTo('evidence.read') },
      schema: {
        tags: ['evidence'],
        summary:
          'Availability per service per day, month or year (China Standard Time) from the monitor’s probes, against the 99.9% target; down time in maintenance windows counts as planned',
        querystring: Type.Object({
          granularity: literals(granularities, { default: 'day' }),
          from: Type.Optional(
            Type.String({ maxLength: 10, description: 'first period: YYYY-MM-DD, YYYY-MM or YYYY' }),
          ),
          to: Type.Optional(
            Type.String({ maxLength: 10, description: 'last period, the current one if not given' }),
          ),
        }),
        response: {
          200: withExample(Availability, {
            target: availabilityTarget,
            periods: [
              {
                period: '2026-12-03',
                services: [
                  {
                    service: 'ocsp',
                    probes: 2880,
                    failedProbes: 2,
                    measuredSeconds: 86_400,
                    downSeconds: 60,
                    plannedSeconds: 0,
                    availability: 0.999306,
                    meetsTarget: true,
                  },
                ],
              },
            ],
          }),
        },
      },
    },
    async (request) => ({
      target: availabilityTarget,
      periods: await availabilityByPeriod(ctx.pool, availabilityRange(request.query)),
    }),
  );

  const onError = auditRefusals(ctx.pool, 'maintenance_window');
  app.post(
    '/v1/maintenance-windows',
    {
      config: { access: allowedTo('maintenance.create') },
      onError,
      schema: {
        tags: ['evidence'],
        summary: 'Announces a planned maintenance window (business admin); audited',
        body: withExample(
          Type.Object(
            {
              service: Type.Optional(
                literals(monitoredServices, { description: 'every service when left out' }),
              ),
              startsAt: DateTime,
              endsAt: DateTime,
              reason: Type.String({ minLength: 1, maxLength: 500 }),
            },
            { additionalProperties: false },
          ),
          {
            service: 'ocsp',
            startsAt: '2026-12-05T18:00:00Z',
            endsAt: '2026-12-05T18:30:00Z',
            reason: 'database minor version upgrade',
          },
        ),
        response: { 201: withExample(MaintenanceWindow, windowExample) },
      },
    },
    async (request, reply) => {
      const { service, startsAt, endsAt, reason } = request.body;
      const starts = parseDateTime(startsAt);
      const ends = parseDateTime(endsAt);
      if (ends <= starts) {
        throw new AppError('MAINTENANCE_WINDOW_INVALID', 'endsAt must be after startsAt', 400);
      }
      if (ends.getTime() < Date.now() - backdatingLimitMs) {
        throw new AppError(
          'MAINTENANCE_WINDOW_PAST',
          'a maintenance window is announced before it ends, not afterwards',
          400,
        );
      }
      if (!reason.trim()) throw new AppError('MAINTENANCE_REASON_REQUIRED', 'a window needs a reason', 400);
      const actor = actorOf(request);
      const window = await withTransaction(ctx.pool, async (client) => {
        const { rows } = await client.query(
          `INSERT INTO maintenance_windows (service, starts_at, ends_at, reason, created_by)
           VALUES ($1, $2, $3, $4, $5) RETURNING *`,
          [service ?? null, starts, ends, reason, actor.name],
        );
        const view = windowView(rows[0]);
        await recordAudit(client, actor, {
          action: 'maintenance_window.create',
          subjectType: 'maintenance_window',
          subjectId: view.id,
          after: { service: view.service, startsAt: view.startsAt, endsAt: view.endsAt, reason },
        });
        return view;
      });
      return reply.code(201).send(window);
    },
  );

  app.get(
    '/v1/maintenance-windows',
    {
      config: { access: allowedTo('maintenance.read') },
      onError,
      schema: {
        tags: ['evidence'],
        summary: 'Maintenance windows, newest start first; those overlapping from–to when given',
        querystring: Type.Object({
          from: Type.Optional(DateTime),
          to: Type.Optional(DateTime),
          ...Paging,
        }),
        response: {
          200: withExample(Type.Object({ windows: Type.Array(MaintenanceWindow) }), {
            windows: [windowExample],
          }),
        },
      },
    },
    async (request) => {
      const { from, to, limit, offset } = request.query;
      const { rows } = await ctx.pool.query(
        `SELECT * FROM maintenance_windows
          WHERE ($1::timestamptz IS NULL OR ends_at > $1) AND ($2::timestamptz IS NULL OR starts_at < $2)
          ORDER BY starts_at DESC, id DESC LIMIT $3 OFFSET $4`,
        [from ? parseDateTime(from) : null, to ? parseDateTime(to) : null, limit, offset],
      );
      return { windows: rows.map(windowView) };
    },
  );
}
