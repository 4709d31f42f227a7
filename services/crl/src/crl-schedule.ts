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
  /** The issuer's latest full CRL. */
  full?: { thisUpdate: Date; nextUpdate: Date };
  /** thisUpdate of the issuer's latest CRL of either kind. */
  lastAny?: Date;
}

/**
 * The cycle, or the margin before the current full CRL expires if that comes first: it
 * may have been published under a longer cycle than the one configured now.
 */
function fullDueAt(full: NonNullable<PublishedState['full']>, settings: Config['crl']): number {
  return Math.min(
    full.thisUpdate.getTime() + publicationPeriod(settings.intervalMinutes),
    full.nextUpdate.getTime() - validityMargin(settings.intervalMinutes),
  );
}

function deltaDueAt(state: PublishedState, settings: Config['crl']): number {
  // A delta cycle no shorter than the full one would only repeat the full CRL.
  if (!state.full || settings.deltaIntervalMinutes >= settings.intervalMinutes)
    return Number.POSITIVE_INFINITY;
  const last = state.lastAny ?? state.full.thisUpdate;
  return last.getTime() + publicationPeriod(settings.deltaIntervalMinutes);
}

/** Which CRL the schedule asks for now, if any: a full one when due, else a delta between fulls. */
export function dueKind(state: PublishedState, now: Date, settings: Config['crl']): CrlKind | undefined {
  if (!state.full || now.getTime() >= fullDueAt(state.full, settings)) return 'full';
  if (now.getTime() >= deltaDueAt(state, settings)) return 'delta';
  return undefined;
}

/** When `dueKind` will next ask for something, for the publisher's timer. */
export function nextDueAt(state: PublishedState, settings: Config['crl']): Date {
  if (!state.full) return new Date(0);
  return new Date(Math.min(fullDueAt(state.full, settings), deltaDueAt(state, settings)));
}
