import { Time } from '@peculiar/asn1-x509';
import { PkiError } from './pki-error.ts';

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, whole seconds, always Z. */
export function toAsnTime(date: Date): Time {
  const year = date.getUTCFullYear();
  if (!(year >= 1950 && year <= 9999))
    throw new PkiError('INVALID_TIME', `time out of range: ${String(date)}`);
  const seconds = new Date(Math.floor(date.getTime() / 1000) * 1000);
  return seconds.getUTCFullYear() >= 2050
    ? new Time({ generalTime: seconds })
    : new Time({ utcTime: seconds });
}
