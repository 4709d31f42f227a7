/** Per holder type or certificate type: the annual report template's four counts. */
export interface Counts {
  issued: number;
  validAtEnd: number;
  revoked: number;
  renewed: number;
}

export interface Spread {
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** What the RA's GET /v1/evidence/report answers. */
export interface RaReport {
  period: { kind: 'year' | 'month'; label: string; from: string; to: string; start: string; end: string };
  certificates: {
    total: Counts;
    byHolderType: Record<'person' | 'organisation' | 'device', Counts>;
    byCertificateType: Record<'signature' | 'encryption', Counts>;
    byMonth: { month: string; issued: number; revoked: number; renewed: number }[];
  };
  applications: {
    received: number;
    decided: number;
    decidedOnTime: number;
    onTimeShare: number | null;
    months: {
      month: string;
      received: number;
      decided: number;
      decidedOnTime: number;
      onTimeShare: number | null;
    }[];
  };
  revocations: {
    ruleSeconds: number;
    requested: number;
    onCrl: number;
    overRule: number;
    decidedToCrl: Spread;
    months: { month: string; requested: number; onCrl: number; overRule: number; decidedToCrl: Spread }[];
  };
}

export interface AvailabilityService {
  service: string;
  probes: number;
  failedProbes: number;
  downSeconds: number;
  plannedSeconds: number;
  availability: number | null;
  meetsTarget: boolean;
}

/** The RA's availability route, or why there are no figures. */
export type Availability =
  | { measured: true; target: number; periods: { period: string; services: AvailabilityService[] }[] }
  | { measured: false; reason: string };

export interface CrlIssuerCycle {
  issuerId: string;
  fullCount: number;
  maxFullGapSeconds: number | null;
  /** Gaps over the cycle that ended inside the period. */
  gapsInPeriod: number;
  digestMismatches: number;
  retentionDays: number | null;
  ok: boolean;
}

/** Everything the yearly report shows: live figures only, as the services computed them. */
export interface Report extends RaReport {
  generatedAt: string;
  availability: Availability;
  crl: { cycleSeconds: number; ok: boolean; issuers: CrlIssuerCycle[] };
}
