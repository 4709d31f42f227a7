import { AppError } from '@sm2ca/platform';
import type { Availability, CrlIssuerCycle, RaReport, Report } from './report-data.ts';

type Call = <T>(method: 'GET', path: string) => Promise<T>;

interface CrlEvidence {
  cycleSeconds: number;
  ok: boolean;
  issuers: {
    issuerId: string;
    fullCount: number;
    maxFullGapSeconds: number | null;
    retentionDays: number | null;
    gaps: { toThisUpdate: string }[];
    digestMismatches: unknown[];
    ok: boolean;
  }[];
}

/**
 * The report's figures gathered from the services: the RA's statistics and availability, the
 * CRL service's archive check narrowed to the gaps that ended within the period.
 */
export async function assembleReport(
  query: { year?: string; month?: string },
  ra: Call,
  crl: Call,
  now = new Date(),
): Promise<Report> {
  const params = new URLSearchParams(query as Record<string, string>).toString();
  const figures = await ra<RaReport>('GET', `/v1/evidence/report?${params}`);
  const evidence = await crl<CrlEvidence>('GET', '/v1/evidence/crls');
  const [start, end] = [Date.parse(figures.period.start), Date.parse(figures.period.end)];
  const issuers = evidence.issuers.map((issuer): CrlIssuerCycle => {
    const gapsInPeriod = issuer.gaps.filter((g) => {
      const at = Date.parse(g.toThisUpdate);
      return at >= start && at < end;
    }).length;
    return {
      issuerId: issuer.issuerId,
      fullCount: issuer.fullCount,
      maxFullGapSeconds: issuer.maxFullGapSeconds,
      gapsInPeriod,
      digestMismatches: issuer.digestMismatches.length,
      retentionDays: issuer.retentionDays,
      ok: gapsInPeriod === 0 && issuer.digestMismatches.length === 0,
    };
  });
  return {
    ...figures,
    generatedAt: now.toISOString(),
    availability: await availability(ra, figures),
    crl: { cycleSeconds: evidence.cycleSeconds, ok: issuers.every((i) => i.ok), issuers },
  };
}

async function availability(ra: Call, figures: RaReport): Promise<Availability> {
  const { kind, label } = figures.period;
  const query = new URLSearchParams({ granularity: kind, from: label, to: label });
  try {
    const answer = await ra<Omit<Availability & { measured: true }, 'measured'>>(
      'GET',
      `/v1/evidence/availability?${query}`,
    );
    return { measured: true, ...answer };
  } catch (err) {
    if (err instanceof AppError && err.status === 404) {
      return {
        measured: false,
        reason: 'this RA has no availability monitor (GET /v1/evidence/availability)',
      };
    }
    throw err;
  }
}
