import type { Report } from '../../cli/src/report/report-data.ts';

const spread = (p50: number, p99: number, max: number) => ({ p50, p99, max });
const months = Array.from({ length: 12 }, (_, i) => `2030-${String(i + 1).padStart(2, '0')}`);

/** A year's report with fixed figures, so the page looks the same on every run. */
export const fixedReport: Report = {
  generatedAt: '2031-01-05T02:00:00.000Z',
  period: {
    kind: 'year',
    label: '2030',
    from: '2030-01',
    to: '2030-12',
    start: '2029-12-31T16:00:00.000Z',
    end: '2030-12-31T16:00:00.000Z',
  },
  certificates: {
    total: { issued: 1460, validAtEnd: 1302, revoked: 95, renewed: 120 },
    byHolderType: {
      person: { issued: 880, validAtEnd: 790, revoked: 60, renewed: 70 },
      organisation: { issued: 400, validAtEnd: 352, revoked: 25, renewed: 35 },
      device: { issued: 180, validAtEnd: 160, revoked: 10, renewed: 15 },
    },
    byCertificateType: {
      signature: { issued: 1000, validAtEnd: 880, revoked: 80, renewed: 120 },
      encryption: { issued: 460, validAtEnd: 422, revoked: 15, renewed: 0 },
    },
    byMonth: months.map((month, i) => ({
      month,
      issued: 100 + 7 * i,
      revoked: 5 + (i % 4),
      renewed: 8 + (i % 5),
    })),
  },
  applications: {
    received: 1300,
    decided: 1290,
    decidedOnTime: 1270,
    onTimeShare: 1270 / 1290,
    months: months.map((month, i) => ({
      month,
      received: 100 + 3 * i,
      decided: 100 + 3 * i,
      decidedOnTime: 98 + 3 * i,
      onTimeShare: (98 + 3 * i) / (100 + 3 * i),
    })),
  },
  revocations: {
    ruleSeconds: 86_400,
    requested: 110,
    onCrl: 110,
    overRule: 0,
    decidedToCrl: spread(40, 3600, 5400),
    months: months.map((month, i) => ({
      month,
      requested: 9,
      onCrl: 9,
      overRule: 0,
      decidedToCrl: spread(40, 1800 + 300 * i, 1800 + 300 * i),
    })),
  },
  availability: { measured: false, reason: 'no availability monitor in this fixture' },
  crl: {
    cycleSeconds: 86_400,
    ok: true,
    issuers: [
      {
        issuerId: 'root',
        fullCount: 365,
        maxFullGapSeconds: 82_800,
        gapsInPeriod: 0,
        digestMismatches: 0,
        retentionDays: 365,
        ok: true,
      },
      {
        issuerId: 'sub',
        fullCount: 365,
        maxFullGapSeconds: 82_805,
        gapsInPeriod: 0,
        digestMismatches: 0,
        retentionDays: 365,
        ok: true,
      },
    ],
  },
};
