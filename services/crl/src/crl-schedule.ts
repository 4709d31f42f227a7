import type { Config } from '@sm2ca/platform';

const MINUTE_MS = 60_000;
/** The regulations: a CRL at least every 24 hours. */
export const MAX_VALIDITY_MS = 24 * 60 * MINUTE_MS;

export type CrlKind = 'full' | 'delta';

/**
 * Slack between a CRL's expected replacement and its nextUpdate, so a late publisher
 * (leader failover, database restart) does not leave relying parties with an expired CRL:
 * half the cycle, at least 5 minutes, at most an hour.
 */
export function validityMargin(intervalMinutes: number): number {
  return Math.min(Math.max((intervalMinutes * MINUTE_MS) / 2, 5 * MINUTE_MS), 60 * MINUTE_MS);
}

/** thisUpdate + cycle + margin, never more than 24 hours after thisUpdate. */
export function nextUpdateFor(thisUpdate: Date, intervalMinutes: number): Date {
  const validity = Math.min(intervalMinutes * MINUTE_MS + validityMargin(intervalMinutes), MAX_VALIDITY_MS);
  return new Date(thisUpdate.getTime() + validity);
}

/**
 * Time from one CRL to the next of its kind. Near 24 hours the cycle is shortened by the
 * margin, so that even then a CRL is replaced before its nextUpdate.
 */
export function publicationPeriod(intervalMinutes: number): number {
  return Math.min(intervalMinutes * MINUTE_MS, MAX_VALIDITY_MS - validityMargin(intervalMinutes));
}

export interface PublishedState {
  /** thisUpdate of the issuer's latest full CRL. */
  lastFull?: Date;
  /** thisUpdate of the issuer's latest CRL of either kind. */
  lastAny?: Date;
}

/** Which CRL the schedule asks for now, if any: a full one when due, else a delta between fulls. */
export function dueKind(state: PublishedState, now: Date, settings: Config['crl']): CrlKind | undefined {
  if (
    !state.lastFull ||
    now.getTime() - state.lastFull.getTime() >= publicationPeriod(settings.intervalMinutes)
  )
    return 'full';
  // A delta cycle no shorter than the full one would only repeat the full CRL.
  if (settings.deltaIntervalMinutes >= settings.intervalMinutes) return undefined;
  const last = state.lastAny ?? state.lastFull;
  if (now.getTime() - last.getTime() >= publicationPeriod(settings.deltaIntervalMinutes)) return 'delta';
  return undefined;
}

/** When `dueKind` will next ask for something, for the publisher's timer. */
export function nextDueAt(state: PublishedState, settings: Config['crl']): Date {
  if (!state.lastFull) return new Date(0);
  let due = state.lastFull.getTime() + publicationPeriod(settings.intervalMinutes);
  if (settings.deltaIntervalMinutes < settings.intervalMinutes) {
    const last = state.lastAny ?? state.lastFull;
    due = Math.min(due, last.getTime() + publicationPeriod(settings.deltaIntervalMinutes));
  }
  return new Date(due);
}
