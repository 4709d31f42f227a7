import { describe, expect, it } from 'vitest';
import { workingDayDeadline } from './working-days.ts';

/** Noon Beijing time on a calendar day. */
const beijingNoon = (day: string) => new Date(`${day}T12:00:00+08:00`);
const endOfBeijingDay = (day: string) => new Date(`${day}T23:59:59.999+08:00`).getTime() + 1;

describe('workingDayDeadline (2 working days, PRC calendar)', () => {
  it('counts two ordinary working days after the day of receipt', () => {
    // Tuesday 2026-11-17 → Thursday 2026-11-19.
    expect(workingDayDeadline(beijingNoon('2026-11-17'), 2).at.getTime()).toBe(endOfBeijingDay('2026-11-19'));
  });

  it('skips the weekend', () => {
    // Friday 2026-11-20 → Monday 23, Tuesday 24.
    expect(workingDayDeadline(beijingNoon('2026-11-20'), 2).at.getTime()).toBe(endOfBeijingDay('2026-11-24'));
  });

  it('uses the Beijing calendar day, not the UTC one', () => {
    // 2026-11-19 20:00 UTC is already Friday 2026-11-20 04:00 in Beijing.
    expect(workingDayDeadline(new Date('2026-11-19T20:00:00Z'), 2).at.getTime()).toBe(
      endOfBeijingDay('2026-11-24'),
    );
  });

  it('crosses the 2026 National Day / Mid-Autumn Golden Week', () => {
    // Received Wednesday 2026-09-30; 1–7 October are holidays, so Thursday 8 and Friday 9 count.
    const deadline = workingDayDeadline(beijingNoon('2026-09-30'), 2);
    expect(deadline.at.getTime()).toBe(endOfBeijingDay('2026-10-09'));
    expect(deadline.provisional).toBe(false);
  });

  it('counts the Saturday make-up working day after Golden Week', () => {
    // Received Friday 2026-10-09: Saturday 10 October is a make-up working day (调休), then Monday 12.
    expect(workingDayDeadline(beijingNoon('2026-10-09'), 2).at.getTime()).toBe(endOfBeijingDay('2026-10-12'));
  });

  it('crosses the 2026 Spring Festival with its make-up Saturdays', () => {
    // Saturday 2026-02-14 is a make-up working day; the festival runs 15–23 February.
    const received = workingDayDeadline(beijingNoon('2026-02-13'), 2);
    expect(received.at.getTime()).toBe(endOfBeijingDay('2026-02-24'));
  });

  it('marks a deadline provisional when the year has no published holiday schedule', () => {
    const deadline = workingDayDeadline(beijingNoon('2026-12-31'), 2);
    expect(deadline.provisional).toBe(true);
    expect(workingDayDeadline(beijingNoon('2026-11-17'), 2).provisional).toBe(false);
  });
});
