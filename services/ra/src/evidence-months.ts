import { Type } from '@sinclair/typebox';
import { AppError } from '@sm2ca/platform';

/**
 * Compliance figures are counted per calendar month in China Standard Time, the calendar the
 * regulator's reports use; PostgreSQL converts with this zone name.
 */
export const reportingZone = 'Asia/Shanghai';

export const Month = Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$', examples: ['2026-11'] });

export const MonthRange = Type.Object({
  from: Type.Optional(Month),
  to: Type.Optional(Month),
});

/** The twelve months ending with the current one, in the reporting zone, unless given. */
export function monthRange(
  query: { from?: string; to?: string },
  now = new Date(),
): { from: string; to: string } {
  const here = new Date(now.getTime() + 8 * 3600_000);
  const current = here.getUTCFullYear() * 12 + here.getUTCMonth();
  const text = (index: number) => `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
  const to = query.to ?? text(current);
  const from = query.from ?? text(monthIndex(to) - 11);
  if (monthIndex(from) > monthIndex(to)) {
    throw new AppError('MONTH_RANGE_INVALID', `from ${from} is after to ${to}`, 400);
  }
  if (monthIndex(to) - monthIndex(from) >= 120) {
    throw new AppError('MONTH_RANGE_INVALID', 'at most 120 months (the 10-year retention) at a time', 400);
  }
  return { from, to };
}

function monthIndex(month: string): number {
  const [year, m] = month.split('-').map(Number) as [number, number];
  return year * 12 + m - 1;
}

/** SQL bounds of a month range as $n parameters: the first day of `from` and of the month after `to`. */
export function monthBounds(range: { from: string; to: string }): [string, string] {
  const next = monthIndex(range.to) + 1;
  return [`${range.from}-01`, `${Math.floor(next / 12)}-${String((next % 12) + 1).padStart(2, '0')}-01`];
}
