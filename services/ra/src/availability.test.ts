import { describe, expect, it } from 'vitest';
import { availabilityRange } from './availability.ts';
import { useRaTestBed } from './test-support/ra-test-bed.ts';

const day = 86_400_000;

/** A China Standard Time day some days back, and the instant it starts. */
function pastDay(daysBack: number): { label: string; start: number } {
  const label = new Date(Date.now() + 8 * 3600_000 - daysBack * day).toISOString().slice(0, 10);
  return { label, start: Date.parse(`${label}T00:00:00+08:00`) };
}

describe('availability from the monitor’s probes', () => {
  const bed = useRaTestBed();

  const probe = (service: string, at: number, ok: boolean, intervalMs = 60_000) =>
    bed.pool.query(
      `INSERT INTO availability_probes (service, target, probed_at, ok, latency_ms, error_code, interval_ms)
       VALUES ($1, 'test', $2, $3, 5, $4, $5)`,
      [service, new Date(at), ok, ok ? null : 'HTTP_503', intervalMs],
    );

  it('counts the time after a failed probe as down, cut at day boundaries, planned inside a window', async () => {
    const { label, start } = pastDay(20);
    const next = pastDay(19).label;
    // OCSP probed every minute from 23:00 to 01:00 across midnight; down 23:30–23:40 and 00:10–00:15,
    // the second inside a maintenance window for OCSP.
    for (let t = start + 23 * 3600_000; t < start + day + 3600_000; t += 60_000) {
      const minute = (t - start) / 60_000;
      const down =
        (minute >= 23 * 60 + 30 && minute < 23 * 60 + 40) ||
        (minute >= 24 * 60 + 10 && minute < 24 * 60 + 15);
      await probe('ocsp', t, !down);
    }
    await bed.pool.query(
      `INSERT INTO maintenance_windows (service, starts_at, ends_at, reason, created_by)
       VALUES ('ocsp', $1, $2, 'upgrade', 'test'), ('crl', $3, $4, 'other service', 'test')`,
      [
        new Date(start + day + 5 * 60_000),
        new Date(start + day + 20 * 60_000),
        new Date(start + 23 * 3600_000),
        new Date(start + 24 * 3600_000),
      ],
    );

    const res = await bed.call(
      'auditor',
      'GET',
      `/v1/evidence/availability?granularity=day&from=${label}&to=${next}`,
    );
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.target).toBe(0.999);
    expect(body.periods.map((p: { period: string }) => p.period)).toEqual([label, next]);
    const [first, second] = body.periods.map((p: { services: unknown[] }) => p.services);
    expect(first).toEqual([
      {
        service: 'ocsp',
        probes: 60,
        failedProbes: 10,
        measuredSeconds: 3600,
        downSeconds: 600,
        plannedSeconds: 0,
        availability: 1 - 600 / 3600,
        meetsTarget: false,
      },
    ]);
    // The last probe speaks for two intervals at most: 60 probes, 61 minutes measured.
    expect(second).toEqual([
      {
        service: 'ocsp',
        probes: 60,
        failedProbes: 5,
        measuredSeconds: 3660,
        downSeconds: 0,
        plannedSeconds: 300,
        availability: 1,
        meetsTarget: true,
      },
    ]);

    const monthly = await bed.call(
      'admin',
      'GET',
      `/v1/evidence/availability?granularity=month&from=${label.slice(0, 7)}&to=${next.slice(0, 7)}`,
    );
    expect(monthly.statusCode, monthly.body).toBe(200);
    const months = monthly.json().periods;
    const ocsp = months.flatMap((p: { services: { service: string; downSeconds: number }[] }) => p.services);
    expect(ocsp.reduce((sum: number, s: { downSeconds: number }) => sum + s.downSeconds, 0)).toBe(600);

    const clerk = await bed.call('clerk', 'GET', '/v1/evidence/availability');
    expect(clerk.json().error.code).toBe('ROLE_FORBIDDEN');
    const bad = await bed.call('auditor', 'GET', '/v1/evidence/availability?granularity=month&from=2026-13');
    expect(bad.json().error.code).toBe('PERIOD_INVALID');
    const reversed = await bed.call('auditor', 'GET', `/v1/evidence/availability?from=${next}&to=${label}`);
    expect(reversed.json().error.code).toBe('PERIOD_RANGE_INVALID');
  });

  it('leaves time the monitor was away unmeasured', async () => {
    const { label, start } = pastDay(40);
    await probe('crl', start + 3600_000, true);
    await probe('crl', start + 3600_000 + 60_000, false);
    // The monitor is gone for hours; the failed probe speaks for two intervals only.
    await probe('crl', start + 5 * 3600_000, true);
    const res = await bed.call('auditor', 'GET', `/v1/evidence/availability?from=${label}&to=${label}`);
    const crl = res.json().periods[0].services.find((s: { service: string }) => s.service === 'crl');
    expect(crl).toMatchObject({ probes: 3, failedProbes: 1, measuredSeconds: 300, downSeconds: 120 });
  });

  it('announces maintenance windows for a business admin, audited, and lists them', async () => {
    const startsAt = new Date(Date.now() + day).toISOString();
    const endsAt = new Date(Date.now() + day + 1800_000).toISOString();
    const made = await bed.call('admin', 'POST', '/v1/maintenance-windows', {
      service: 'ocsp',
      startsAt,
      endsAt,
      reason: 'database upgrade',
    });
    expect(made.statusCode, made.body).toBe(201);
    expect(made.json()).toMatchObject({ service: 'ocsp', startsAt, endsAt, reason: 'database upgrade' });
    const { rows } = await bed.pool.query(
      `SELECT actor FROM audit_log WHERE action = 'maintenance_window.create' AND subject_id = $1`,
      [made.json().id],
    );
    expect(rows).toHaveLength(1);

    const list = await bed.call('auditor', 'GET', `/v1/maintenance-windows?from=${startsAt}`);
    expect(list.json().windows.map((w: { id: string }) => w.id)).toContain(made.json().id);
    const refused = await bed.call('auditor', 'POST', '/v1/maintenance-windows', {
      startsAt,
      endsAt,
      reason: 'x',
    });
    expect(refused.json().error.code).toBe('ROLE_FORBIDDEN');
    const backwards = await bed.call('admin', 'POST', '/v1/maintenance-windows', {
      startsAt: endsAt,
      endsAt: startsAt,
      reason: 'x',
    });
    expect(backwards.json().error.code).toBe('MAINTENANCE_WINDOW_INVALID');
    const past = await bed.call('admin', 'POST', '/v1/maintenance-windows', {
      startsAt: new Date(Date.now() - 3 * day).toISOString(),
      endsAt: new Date(Date.now() - 2 * day).toISOString(),
      reason: 'x',
    });
    expect(past.json().error.code).toBe('MAINTENANCE_WINDOW_PAST');
  });

  it('defaults to the last periods up to the current one', () => {
    const now = new Date('2026-12-31T17:00:00Z');
    expect(availabilityRange({ granularity: 'year' }, now)).toEqual({
      granularity: 'year',
      from: '2026',
      to: '2027',
    });
    expect(availabilityRange({ granularity: 'month' }, now)).toEqual({
      granularity: 'month',
      from: '2026-02',
      to: '2027-01',
    });
  });
});
