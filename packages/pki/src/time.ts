import { Time } from '@peculiar/asn1-x509';

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, whole seconds, always Z. */
export function toAsnTime(date: Date): Time {
  const seconds = new Date(Math.floor(date.getTime() / 1000) * 1000);
  return seconds.getUTCFullYear() >= 2050
    ? new Time({ generalTime: seconds })
    : new Time({ utcTime: seconds });
}

/** True when the CHOICE taken for `time` is the one RFC 5280 requires for its year. */
export function hasRequiredTimeEncoding(time: Time): boolean {
  if (time.utcTime) return time.utcTime.getUTCFullYear() < 2050;
  if (time.generalTime) return time.generalTime.getUTCFullYear() >= 2050;
  return false;
}
