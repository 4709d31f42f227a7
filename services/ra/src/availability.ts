import { AppError } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { reportingZone } from './evidence-months.ts';

/** The availability the service quality rules ask of every public service. */
export const availabilityTarget = 0.999;

export const granularities = ['day', 'month', 'year'] as const;
export type Granularity = (typeof granularities)[number];

interface GranularityRule {
  pattern: RegExp;
  /** How a period is named, as PostgreSQL's to_char writes it. */
  format: string;
  step: string;
  /** Periods shown when `from` is not given, the current one included. */
  defaultCount: number;
  maxCount: number;
  start(label: string): string;
}

const rules: Record<Granularity, GranularityRule> = {
  day: {
    pattern: /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/,
    format: 'YYYY-MM-DD',
    step: '1 day',
    defaultCount: 31,
    maxCount: 400,
    start: (label) => label,
  },
  month: {
    pattern: /^[0-9]{4}-(0[1-9]|1[0-2])$/,
    format: 'YYYY-MM',
    step: '1 month',
    defaultCount: 12,
    maxCount: 120,
    start: (label) => `${label}-01`,
  },
  year: {
    pattern: /^[0-9]{4}$/,
    format: 'YYYY',
    step: '1 year',
    defaultCount: 2,
    maxCount: 10,
    start: (label) => `${label}-01-01`,
  },
};

export interface ServiceAvailability {
  service: string;
  probes: number;
  failedProbes: number;
  /** Time the probes speak for: each probe until the next one, at most twice the monitor's interval. */
  measuredSeconds: number;
  /** Time after a failed probe, outside every maintenance window of the service. */
  downSeconds: number;
  /** Time after a failed probe inside a maintenance window: planned, not unavailability. */
  plannedSeconds: number;
  availability: number | null;
  meetsTarget: boolean | null;
}

export interface AvailabilityPeriod {
  period: string;
  services: ServiceAvailability[];
}

export interface AvailabilityRange {
  granularity: Granularity;
  from: string;
  to: string;
}

/** The periods asked for, named in China Standard Time: the last few up to the current one unless given. */
export function availabilityRange(
  query: { granularity?: Granularity; from?: string; to?: string },
  now = new Date(),
): AvailabilityRange {
  const granularity = query.granularity ?? 'day';
  const rule = rules[granularity];
  for (const [name, value] of [
    ['from', query.from],
    ['to', query.to],
  ] as const) {
    if (value !== undefined && !rule.pattern.test(value)) {
      throw new AppError(
        'PERIOD_INVALID',
        `${name} must name a ${granularity} (${rule.format}), not ${JSON.stringify(value)}`,
        400,
      );
    }
  }
  const here = new Date(now.getTime() + 8 * 3600_000).toISOString();
  const current = { day: here.slice(0, 10), month: here.slice(0, 7), year: here.slice(0, 4) }[granularity];
  const to = query.to ?? current;
  const from = query.from ?? shift(granularity, to, 1 - rule.defaultCount);
  const count = periodsBetween(granularity, from, to);
  if (count < 1) throw new AppError('PERIOD_RANGE_INVALID', `from ${from} is after to ${to}`, 400);
  if (count > rule.maxCount) {
    throw new AppError(
      'PERIOD_RANGE_INVALID',
      `at most ${rule.maxCount} ${granularity} periods at a time, not ${count}`,
      400,
    );
  }
  return { granularity, from, to };
}

function shift(granularity: Granularity, label: string, by: number): string {
  const date = new Date(`${rules[granularity].start(label)}T00:00:00Z`);
  if (granularity === 'day') date.setUTCDate(date.getUTCDate() + by);
  else if (granularity === 'month') date.setUTCMonth(date.getUTCMonth() + by);
  else date.setUTCFullYear(date.getUTCFullYear() + by);
  const iso = date.toISOString();
  return granularity === 'day'
    ? iso.slice(0, 10)
    : granularity === 'month'
      ? iso.slice(0, 7)
      : iso.slice(0, 4);
}

function periodsBetween(granularity: Granularity, from: string, to: string): number {
  const a = new Date(`${rules[granularity].start(from)}T00:00:00Z`);
  const b = new Date(`${rules[granularity].start(to)}T00:00:00Z`);
  if (granularity === 'day') return Math.round((b.getTime() - a.getTime()) / 86_400_000) + 1;
  const months = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth();
  return granularity === 'month' ? months + 1 : Math.floor(months / 12) + 1;
}

/**
 * Availability per period and service, from the stored probes. Each probe's result holds from
 * its time until the service's next probe, but for at most twice the monitor's interval then (a
 * monitor that was itself away measured nothing, so that time counts neither way). Time after a
 * failed probe is down: a service that stops is down from the first probe that finds it stopped
 * to the first that finds it back, so the figure is within one interval of the real gap. Down
 * time inside a maintenance window of the service (or of every service) is planned: it is taken
 * out of both the down time and the time measured, so
 * availability = 1 − downSeconds / (measuredSeconds − plannedSeconds).
 * Pieces of time are cut at period boundaries (China Standard Time) and never run past now.
 */
export async function availabilityByPeriod(
  pool: Pool,
  range: AvailabilityRange,
): Promise<AvailabilityPeriod[]> {
  const rule = rules[range.granularity];
  const { rows } = await pool.query(
    `WITH periods AS (
       SELECT to_char(p, $3) AS period, p AT TIME ZONE $5 AS lo, (p + $4::interval) AT TIME ZONE $5 AS hi
         FROM generate_series($1::timestamp, $2::timestamp, $4::interval) p
     ), span AS (
       SELECT min(lo) AS lo, max(hi) AS hi FROM periods
     ), probes AS (
       SELECT service, probed_at, ok,
              LEAST(lead(probed_at) OVER (PARTITION BY service ORDER BY probed_at),
                    probed_at + 2 * interval_ms * interval '1 millisecond', now()) AS until
         FROM availability_probes, span
        WHERE probed_at >= span.lo - interval '2 hours' AND probed_at < span.hi
     ), pieces AS (
       SELECT pe.period, pr.service, pr.ok,
              tstzrange(GREATEST(pr.probed_at, pe.lo), LEAST(pr.until, pe.hi)) AS piece
         FROM probes pr JOIN periods pe ON pr.probed_at < pe.hi AND pr.until > pe.lo
        WHERE pr.until > pr.probed_at
     ), windows AS (
       SELECT s.service, range_agg(tstzrange(w.starts_at, w.ends_at)) AS planned
         FROM maintenance_windows w, span,
              (SELECT DISTINCT service FROM probes) s
        WHERE (w.service IS NULL OR w.service = s.service)
          AND w.starts_at < span.hi AND w.ends_at > span.lo
        GROUP BY s.service
     ), timed AS (
       SELECT p.period, p.service, p.ok,
              extract(epoch FROM upper(p.piece) - lower(p.piece)) AS seconds,
              COALESCE((SELECT sum(extract(epoch FROM upper(x) - lower(x)))
                          FROM unnest(w.planned * tstzmultirange(p.piece)) x), 0) AS planned
         FROM pieces p LEFT JOIN windows w USING (service)
     ), times AS (
       SELECT period, service, sum(seconds) AS measured,
              COALESCE(sum(seconds - planned) FILTER (WHERE NOT ok), 0) AS down,
              COALESCE(sum(planned) FILTER (WHERE NOT ok), 0) AS planned
         FROM timed GROUP BY period, service
     ), counts AS (
       SELECT pe.period, pr.service, count(*) AS probes, count(*) FILTER (WHERE NOT pr.ok) AS failed
         FROM probes pr JOIN periods pe ON pr.probed_at >= pe.lo AND pr.probed_at < pe.hi
        GROUP BY pe.period, pr.service
     )
     SELECT pe.period, s.service,
            COALESCE(c.probes, 0)::int AS probes, COALESCE(c.failed, 0)::int AS failed,
            COALESCE(t.measured, 0)::float8 AS measured, COALESCE(t.down, 0)::float8 AS down,
            COALESCE(t.planned, 0)::float8 AS planned
       FROM periods pe CROSS JOIN (SELECT DISTINCT service FROM probes) s
       LEFT JOIN times t ON t.period = pe.period AND t.service = s.service
       LEFT JOIN counts c ON c.period = pe.period AND c.service = s.service
      ORDER BY pe.period, s.service`,
    [rule.start(range.from), rule.start(range.to), rule.format, rule.step, reportingZone],
  );
  const periods = new Map<string, AvailabilityPeriod>();
  for (const period of periodLabels(range)) periods.set(period, { period, services: [] });
  for (const row of rows) {
    const measured = round(row.measured);
    const down = round(row.down);
    const planned = round(row.planned);
    const counted = measured - planned;
    const availability = counted > 0 ? Math.max(0, 1 - down / counted) : null;
    periods.get(row.period)?.services.push({
      service: row.service,
      probes: row.probes,
      failedProbes: row.failed,
      measuredSeconds: measured,
      downSeconds: down,
      plannedSeconds: planned,
      availability,
      meetsTarget: availability === null ? null : availability >= availabilityTarget,
    });
  }
  return [...periods.values()];
}

function periodLabels(range: AvailabilityRange): string[] {
  const labels: string[] = [];
  for (let label = range.from; labels.length < rules[range.granularity].maxCount + 1; ) {
    labels.push(label);
    if (label === range.to) break;
    label = shift(range.granularity, label, 1);
  }
  return labels;
}

const round = (seconds: number): number => Math.round(seconds * 1000) / 1000;
