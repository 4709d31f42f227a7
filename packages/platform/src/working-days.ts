import chineseDays from 'chinese-days';

const { findWorkday, getHolidaysInRange } = chineseDays;

/** Beijing has no daylight saving: the PRC calendar day is UTC+8. */
const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

export interface Deadline {
  /** End of the last allowed working day, Beijing time. */
  at: Date;
  /**
   * The span reaches a year whose official holiday schedule the calendar does
   * not have yet (the State Council publishes it late in the year before), so
   * only weekends were counted there; recompute once the package is updated.
   */
  provisional: boolean;
}

function beijingDate(at: Date): string {
  return new Date(at.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

const yearKnown = new Map<number, boolean>();
function scheduleKnown(year: number): boolean {
  let known = yearKnown.get(year);
  if (known === undefined) {
    known = getHolidaysInRange(`${year}-01-01`, `${year}-12-31`, false).length > 0;
    yearKnown.set(year, known);
  }
  return known;
}

/**
 * The deadline for something received at `receivedAt` that must be done within
 * `workingDays` working days on the PRC calendar: counting starts on the first
 * working day after the day of receipt, and the deadline is the end of the last
 * counted day. Weekends, public holidays and make-up working days (调休) follow
 * the official schedule.
 */
export function workingDayDeadline(receivedAt: Date, workingDays: number): Deadline {
  const startDay = beijingDate(receivedAt);
  const lastDay = findWorkday(workingDays, startDay);
  const endOfLastDay = Date.parse(`${lastDay}T00:00:00Z`) + 24 * 3600 * 1000 - BEIJING_OFFSET_MS;
  let provisional = false;
  for (let y = Number(startDay.slice(0, 4)); y <= Number(lastDay.slice(0, 4)); y++) {
    if (!scheduleKnown(y)) provisional = true;
  }
  return { at: new Date(endOfLastDay), provisional };
}
