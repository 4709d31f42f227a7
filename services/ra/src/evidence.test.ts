import { describe, expect, it } from 'vitest';
import { monthRange } from './evidence-months.ts';
import { type RevocationTimes, revocationMonths } from './revocation-clock.ts';
import { useRaTestBed } from './test-support/ra-test-bed.ts';

const person = { commonName: '张三', identity: { residentId: '11010519491231002X' } };
const hour = 3600_000;

describe('compliance clocks of the RA', () => {
  const bed = useRaTestBed();

  async function submit(): Promise<string> {
    const res = await bed.call('clerk', 'POST', '/v1/applications', {
      holderType: 'person',
      profile: 'person-sign',
      holder: person,
      csr: bed.hierarchy.sm2Csr(),
      publishConsent: false,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id;
  }
  const setTimes = (id: string, times: Record<string, Date>) =>
    bed.pool.query(
      `UPDATE applications SET ${Object.keys(times)
        .map((column, i) => `${column} = $${i + 2}`)
        .join(', ')} WHERE id = $1`,
      [id, ...Object.values(times)],
    );

  it('lists undecided applications past their deadline and those due within the hours asked, without holder data', async () => {
    const now = Date.now();
    const [late, soon, later] = [await submit(), await submit(), await submit()];
    await setTimes(late, { deadline: new Date(now - 2 * hour) });
    await setTimes(soon, { deadline: new Date(now + 5 * hour) });
    await setTimes(later, { deadline: new Date(now + 100 * hour) });

    const res = await bed.call('auditor', 'GET', '/v1/evidence/deadlines?withinHours=24');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.overdue.map((e: { applicationId: string }) => e.applicationId)).toEqual([late]);
    expect(body.overdue[0].hoursLeft).toBeCloseTo(-2, 0);
    expect(body.dueSoon.map((e: { applicationId: string }) => e.applicationId)).toEqual([soon]);
    expect(res.body).not.toContain('11010519491231002X');

    expect((await bed.call('admin', 'GET', '/v1/evidence/deadlines')).statusCode).toBe(200);
    expect((await bed.call('clerk', 'GET', '/v1/evidence/deadlines')).json().error.code).toBe(
      'ROLE_FORBIDDEN',
    );
    expect((await bed.call('auditor', 'GET', '/v1/evidence/deadlines?withinHours=-1')).statusCode).toBe(400);
    for (const id of [late, soon, later]) {
      await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, {
        decision: 'reject',
        reason: 'test',
      });
    }
  });

  // Fixed instants on purpose: what is tested is the month boundary of China Standard Time (UTC+8).
  it('counts decisions on time per month of China Standard Time', async () => {
    const onTime = await submit();
    const late = await submit();
    await bed.call('reviewer', 'POST', `/v1/applications/${onTime}/review`, { decision: 'approve' });
    await bed.call('reviewer', 'POST', `/v1/applications/${late}/review`, {
      decision: 'reject',
      reason: 'x',
    });
    // 2030-04-01 00:30 in Beijing, still March in UTC: an April decision, before its deadline.
    await setTimes(onTime, {
      entered_at: new Date('2030-03-30T02:00:00Z'),
      reviewed_at: new Date('2030-03-31T16:30:00Z'),
      deadline: new Date('2030-04-01T10:00:00Z'),
    });
    // 2030-03-31 23:00 in Beijing: a March decision, after its deadline.
    await setTimes(late, {
      entered_at: new Date('2030-02-27T02:00:00Z'),
      reviewed_at: new Date('2030-03-31T15:00:00Z'),
      deadline: new Date('2030-03-03T10:00:00Z'),
    });
    const res = await bed.call('auditor', 'GET', '/v1/evidence/deadlines/monthly?from=2030-02&to=2030-04');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().months).toEqual([
      { month: '2030-02', received: 1, decided: 0, decidedOnTime: 0, onTimeShare: null },
      { month: '2030-03', received: 1, decided: 1, decidedOnTime: 0, onTimeShare: 0 },
      { month: '2030-04', received: 0, decided: 1, decidedOnTime: 1, onTimeShare: 1 },
    ]);
    const backwards = await bed.call(
      'auditor',
      'GET',
      '/v1/evidence/deadlines/monthly?from=2030-05&to=2030-04',
    );
    expect(backwards.json().error.code).toBe('MONTH_RANGE_INVALID');
    expect((await bed.call('auditor', 'GET', '/v1/evidence/deadlines/monthly?from=2030-13')).statusCode).toBe(
      400,
    );
  });

  it('answers the revocation clock for the months asked', async () => {
    const res = await bed.call('auditor', 'GET', '/v1/evidence/revocations?detail=true');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().months).toHaveLength(12);
    expect(res.json().ruleSeconds).toBe(86_400);
  });
});

describe('revocation clock figures', () => {
  const at = (base: number, seconds: number) => new Date(base + seconds * 1000).toISOString();
  const base = Date.parse('2030-06-10T00:00:00Z');
  const revocation = (id: number, decided: number, crl: number | null, status = 'done'): RevocationTimes => ({
    requestId: String(id),
    issuerId: 'sub',
    serial: `0${id}`,
    reason: 'keyCompromise',
    status,
    requestedAt: at(base, 0),
    decidedAt: at(base, decided),
    doneAt: at(base, decided + 2),
    ocspAt: at(base, decided + 1),
    firstCrlAt: crl === null ? null : at(base, decided + crl),
    decidedToCrlSeconds: crl,
  });

  // Fixed month on purpose: the figures are placed in it and the clock is injected.
  it('gives nearest-rank p50/p99/max per step and counts breaches of the 24-hour rule, waiting ones too', () => {
    const times = [
      revocation(1, 600, 60),
      revocation(2, 1200, 120),
      revocation(3, 1800, 90_000),
      revocation(4, 60, null),
      revocation(5, 60, null),
    ];
    const now = new Date(base + 60_000 + 10 * 3600_000);
    const [june] = revocationMonths({ from: '2030-06', to: '2030-06' }, times, now);
    expect(june).toMatchObject({
      month: '2030-06',
      requested: 5,
      onCrl: 3,
      overRule: 1,
      requestedToDecided: { p50: 600, p99: 1800, max: 1800 },
      decidedToDone: { p50: 2, p99: 2, max: 2 },
      decidedToOcsp: { p50: 1, p99: 1, max: 1 },
      decidedToCrl: { p50: 120, p99: 90_000, max: 90_000 },
    });
    const later = new Date(base + 60_000 + 25 * 3600_000);
    expect(revocationMonths({ from: '2030-06', to: '2030-06' }, times, later)[0]!.overRule).toBe(3);
  });

  it('defaults to the twelve months ending with the current one in China Standard Time', () => {
    // 2030-12-31 17:00 UTC is already 2031-01-01 in Beijing.
    expect(monthRange({}, new Date('2030-12-31T17:00:00Z'))).toEqual({ from: '2030-02', to: '2031-01' });
    expect(monthRange({ to: '2030-03' })).toEqual({ from: '2029-04', to: '2030-03' });
  });
});
