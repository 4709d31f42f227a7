import { keyPurposeOf, type ProfileId } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { decisionsByMonth } from './deadline-clock.ts';
import { monthBounds, reportingZone } from './evidence-months.ts';
import { type HolderType, profilesByHolderType } from './holder-identity.ts';
import {
  crlRuleSeconds,
  revocationMonths,
  revocationTimes,
  type Spread,
  spread,
} from './revocation-clock.ts';

export interface CertificateCounts {
  issued: number;
  validAtEnd: number;
  revoked: number;
  renewed: number;
}

export interface ReportFigures {
  period: { kind: 'year' | 'month'; label: string; from: string; to: string; start: string; end: string };
  certificates: {
    total: CertificateCounts;
    byHolderType: Record<HolderType, CertificateCounts>;
    byCertificateType: Record<'signature' | 'encryption', CertificateCounts>;
    byMonth: { month: string; issued: number; revoked: number; renewed: number }[];
  };
  applications: {
    received: number;
    decided: number;
    decidedOnTime: number;
    onTimeShare: number | null;
    months: Awaited<ReturnType<typeof decisionsByMonth>>;
  };
  revocations: {
    ruleSeconds: number;
    requested: number;
    onCrl: number;
    overRule: number;
    decidedToCrl: Spread;
    months: ReturnType<typeof revocationMonths>;
  };
}

/** The months a report covers: a calendar year or one month, China Standard Time. */
export function reportPeriod(query: { year?: string; month?: string }): {
  kind: 'year' | 'month';
  label: string;
  from: string;
  to: string;
} {
  if (query.year && !query.month)
    return { kind: 'year', label: query.year, from: `${query.year}-01`, to: `${query.year}-12` };
  if (query.month && !query.year)
    return { kind: 'month', label: query.month, from: query.month, to: query.month };
  throw new AppError('REPORT_PERIOD_INVALID', 'give either year=YYYY or month=YYYY-MM', 400);
}

const holderTypeOf = new Map<string, HolderType>(
  Object.entries(profilesByHolderType).flatMap(([type, profiles]) =>
    profiles.map((p) => [p, type as HolderType]),
  ),
);
const zero = (): CertificateCounts => ({ issued: 0, validAtEnd: 0, revoked: 0, renewed: 0 });

// Per profile and month of issue or revocation, of the certificates issued to holders through
// applications: the key ceremony's own service certificates (RA, KM, audit) and operators' login
// certificates are the CA's, not its subscribers'. A certificate counts as renewed when the
// application that issued it (its signature or its encryption twin) was a renewal; valid at the
// end of the period when issued before it, not yet expired then and not revoked by then (a hold
// at the period end is not counted as a revocation: it may be released).
const certificatesSql = `
  SELECT c.profile,
         to_char(c.issued_at AT TIME ZONE '${reportingZone}', 'YYYY-MM') AS issued_month,
         to_char(c.revoked_at AT TIME ZONE '${reportingZone}', 'YYYY-MM') AS revoked_month,
         c.issued_at >= $1::timestamp AT TIME ZONE '${reportingZone}' AND c.issued_at < $2::timestamp AT TIME ZONE '${reportingZone}' AS issued,
         c.status = 'revoked' AND c.revoked_at >= $1::timestamp AT TIME ZONE '${reportingZone}'
           AND c.revoked_at < $2::timestamp AT TIME ZONE '${reportingZone}' AS revoked,
         c.issued_at < $2::timestamp AT TIME ZONE '${reportingZone}'
           AND c.not_after > $2::timestamp AT TIME ZONE '${reportingZone}'
           AND NOT (c.status = 'revoked' AND c.revoked_at < $2::timestamp AT TIME ZONE '${reportingZone}') AS valid_at_end,
         coalesce(a.kind = 'renewal', false) AS renewal
    FROM certificates c
    JOIN applications a
      ON a.issuer_id = c.issuer_id AND (a.serial = c.serial OR a.encryption_serial = c.serial)
   WHERE c.status <> 'planned' AND c.issued_at < $2::timestamp AT TIME ZONE '${reportingZone}'`;

/** The annual report template's statistics over a year or a month, from the live tables. */
export async function reportFigures(
  pool: Pool,
  period: { kind: 'year' | 'month'; label: string; from: string; to: string },
): Promise<ReportFigures> {
  const bounds = monthBounds(period);
  const { rows } = await pool.query(certificatesSql, bounds);
  const total = zero();
  const byHolderType: Record<HolderType, CertificateCounts> = {
    person: zero(),
    organisation: zero(),
    device: zero(),
  };
  const byCertificateType = { signature: zero(), encryption: zero() };
  const months = new Map<string, { month: string; issued: number; revoked: number; renewed: number }>();
  const monthRow = (month: string) =>
    months.get(month) ?? months.set(month, { month, issued: 0, revoked: 0, renewed: 0 }).get(month)!;
  for (
    let m = new Date(`${bounds[0]}T00:00:00Z`);
    m < new Date(`${bounds[1]}T00:00:00Z`);
    m.setUTCMonth(m.getUTCMonth() + 1)
  ) {
    monthRow(m.toISOString().slice(0, 7));
  }
  for (const row of rows) {
    const targets = [
      total,
      byCertificateType[keyPurposeOf(row.profile as ProfileId) === 'encryption' ? 'encryption' : 'signature'],
    ];
    const holderType = holderTypeOf.get(row.profile);
    if (holderType) targets.push(byHolderType[holderType]);
    for (const counts of targets) {
      if (row.issued) counts.issued++;
      if (row.issued && row.renewal) counts.renewed++;
      if (row.revoked) counts.revoked++;
      if (row.valid_at_end) counts.validAtEnd++;
    }
    if (row.issued) {
      monthRow(row.issued_month).issued++;
      if (row.renewal) monthRow(row.issued_month).renewed++;
    }
    if (row.revoked) monthRow(row.revoked_month).revoked++;
  }

  const decisions = await decisionsByMonth(pool, period);
  const decided = decisions.reduce((n, m) => n + m.decided, 0);
  const decidedOnTime = decisions.reduce((n, m) => n + m.decidedOnTime, 0);
  const times = await revocationTimes(pool, period);
  const revocation = revocationMonths(period, times);
  return {
    period: { ...period, start: zoned(bounds[0]), end: zoned(bounds[1]) },
    certificates: { total, byHolderType, byCertificateType, byMonth: [...months.values()] },
    applications: {
      received: decisions.reduce((n, m) => n + m.received, 0),
      decided,
      decidedOnTime,
      onTimeShare: decided === 0 ? null : decidedOnTime / decided,
      months: decisions,
    },
    revocations: {
      ruleSeconds: crlRuleSeconds,
      requested: times.length,
      onCrl: times.filter((t) => t.firstCrlAt).length,
      overRule: revocation.reduce((n, m) => n + m.overRule, 0),
      decidedToCrl: spread(times.map((t) => t.decidedToCrlSeconds)),
      months: revocation,
    },
  };
}

/** Midnight of a day in China Standard Time as an instant. */
const zoned = (day: string) => new Date(new Date(`${day}T00:00:00Z`).getTime() - 8 * 3600_000).toISOString();
