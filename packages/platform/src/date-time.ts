import { FormatRegistry, Type } from '@sinclair/typebox';

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * RFC 3339 `date-time` with a real calendar date, hours 00–23 and offsets within a day. Leap
 * seconds (:60) are refused: neither JavaScript dates nor certificate times can hold them.
 */
export function isDateTime(text: string): boolean {
  const fields = rfc3339
    .exec(text)
    ?.slice(1)
    .map((f) => Number(f ?? 0));
  if (!fields) return false;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = fields as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return (
    year >= 1 &&
    days !== undefined &&
    day >= 1 &&
    day <= days &&
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    offsetHour < 24 &&
    offsetMinute < 60
  );
}

/** The instant a text that passed isDateTime() names. */
export const parseDateTime = (text: string): Date => new Date(text.toUpperCase());

// TypeBox (CA instructions) checks formats against this registry; Fastify's Ajv is given the same function.
FormatRegistry.Set('date-time', isDateTime);

/** A timestamp in a request: strict RFC 3339, so nothing the database would refuse gets that far. */
export const DateTime = Type.String({ format: 'date-time', maxLength: 64 });
