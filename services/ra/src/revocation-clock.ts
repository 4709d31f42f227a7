import type { Pool } from '@sm2ca/store';
import { monthBounds, reportingZone } from './evidence-months.ts';

/** The seeds' rule: a revocation is on the published CRL within 24 hours. */
export const crlRuleSeconds = 24 * 3600;

export interface RevocationTimes {
  requestId: string;
  issuerId: string;
  serial: string;
  reason: string;
  status: string;
  requestedAt: string;
  decidedAt: string | null;
  doneAt: string | null;
  /** When the responders had the new status: they answer from the CA's status event as it lands. */
  ocspAt: string | null;
  firstCrlAt: string | null;
  /** Decision to first CRL, in seconds; measured against the 24-hour rule. */
  decidedToCrlSeconds: number | null;
}

export interface Spread {
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface RevocationMonth {
  month: string;
  requested: number;
  onCrl: number;
  /** Approved and either on a CRL later than 24 h after the decision, or still not on one past that. */
  overRule: number;
  requestedToDecided: Spread;
  decidedToDone: Spread;
  decidedToOcsp: Spread;
  decidedToCrl: Spread;
}

// Each approved revocation request with the CA's status change, the responders' event and the
// first CRL that carried it; only changes after the decision count, so an earlier suspension
// of the same certificate is not taken for this revocation.
const timesSql = `
  SELECT r.id, r.issuer_id, r.serial, r.reason, r.status, r.entered_at, r.decided_at, r.done_at,
         ev.at AS ocsp_at, cr.first_published_at AS crl_at
    FROM revocation_requests r
    LEFT JOIN LATERAL (
      SELECT min(e.at) AS at FROM certificate_events e
       WHERE e.issuer_id = r.issuer_id AND e.serial = r.serial AND r.decided_at IS NOT NULL
         AND e.status = CASE WHEN r.reason = 'certificateHold' THEN 'hold' ELSE 'revoked' END
         AND e.at >= r.decided_at
    ) ev ON true
    LEFT JOIN LATERAL (
      SELECT min(c.first_published_at) AS first_published_at FROM crl_revocations c
       WHERE c.issuer_id = r.issuer_id AND c.serial = r.serial AND r.decided_at IS NOT NULL
         AND c.status = CASE WHEN r.reason = 'certificateHold' THEN 'hold' ELSE 'revoked' END
         AND c.revoked_at >= r.decided_at
    ) cr ON true
   WHERE r.entered_at >= $1::timestamp AT TIME ZONE '${reportingZone}'
     AND r.entered_at < $2::timestamp AT TIME ZONE '${reportingZone}'`;

const seconds = (from: unknown, to: unknown) =>
  from instanceof Date && to instanceof Date ? (to.getTime() - from.getTime()) / 1000 : null;
const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : null);

/** Every revocation request entered in the months, with each step's time. */
export async function revocationTimes(
  pool: Pool,
  range: { from: string; to: string },
): Promise<RevocationTimes[]> {
  const { rows } = await pool.query(`${timesSql} ORDER BY r.entered_at, r.id`, monthBounds(range));
  return rows.map((row) => ({
    requestId: String(row.id),
    issuerId: row.issuer_id,
    serial: row.serial,
    reason: row.reason,
    status: row.status,
    requestedAt: iso(row.entered_at)!,
    decidedAt: iso(row.decided_at),
    doneAt: iso(row.done_at),
    ocspAt: iso(row.ocsp_at),
    firstCrlAt: iso(row.crl_at),
    decidedToCrlSeconds: seconds(row.decided_at, row.crl_at),
  }));
}

/** Nearest-rank percentiles: each figure is a delay that really happened. */
export function spread(values: (number | null)[]): Spread {
  const known = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (known.length === 0) return { p50: null, p99: null, max: null };
  const rank = (p: number) => known[Math.max(0, Math.ceil(p * known.length) - 1)]!;
  return { p50: rank(0.5), p99: rank(0.99), max: known[known.length - 1]! };
}

/** Per month of request: the delays of each step and how many broke the 24-hour rule. */
export function revocationMonths(
  range: { from: string; to: string },
  times: RevocationTimes[],
  now = new Date(),
): RevocationMonth[] {
  const months: RevocationMonth[] = [];
  const [first, after] = monthBounds(range);
  for (
    let m = new Date(`${first}T00:00:00Z`);
    m < new Date(`${after}T00:00:00Z`);
    m.setUTCMonth(m.getUTCMonth() + 1)
  ) {
    const month = m.toISOString().slice(0, 7);
    const inMonth = times.filter((t) => monthOf(t.requestedAt) === month);
    const ms = (a: string | null) => (a ? new Date(a).getTime() : null);
    const diff = (a: string | null, b: string | null) => {
      const from = ms(a);
      const to = ms(b);
      return from === null || to === null ? null : (to - from) / 1000;
    };
    months.push({
      month,
      requested: inMonth.length,
      onCrl: inMonth.filter((t) => t.firstCrlAt).length,
      overRule: inMonth.filter((t) => {
        if (!t.decidedAt || t.status === 'rejected') return false;
        const waited = t.decidedToCrlSeconds ?? (now.getTime() - ms(t.decidedAt)!) / 1000;
        return waited > crlRuleSeconds;
      }).length,
      requestedToDecided: spread(inMonth.map((t) => diff(t.requestedAt, t.decidedAt))),
      decidedToDone: spread(inMonth.map((t) => diff(t.decidedAt, t.doneAt))),
      decidedToOcsp: spread(inMonth.map((t) => diff(t.decidedAt, t.ocspAt))),
      decidedToCrl: spread(inMonth.map((t) => t.decidedToCrlSeconds)),
    });
  }
  return months;
}

/** The month of an instant in the reporting zone (UTC+8, no daylight saving). */
function monthOf(at: string): string {
  return new Date(new Date(at).getTime() + 8 * 3600_000).toISOString().slice(0, 7);
}
