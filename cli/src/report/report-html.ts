import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Counts, Report, Spread } from './report-data.ts';

// The UMD build beside the package's CommonJS entry (dist/): the one that runs from a <script> tag.
const chartJs = () =>
  readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'), 'utf8');

const textOf = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const share = (value: number | null) => (value === null ? '—' : `${(value * 100).toFixed(2)}%`);
const hours = (seconds: number | null) => (seconds === null ? '—' : `${(seconds / 3600).toFixed(2)} h`);

function countsTable(title: string, rows: [string, Counts][]): string {
  const body = rows
    .map(
      ([name, c]) =>
        `<tr><th>${textOf(name)}</th><td>${c.issued}</td><td>${c.validAtEnd}</td><td>${c.revoked}</td><td>${c.renewed}</td></tr>`,
    )
    .join('');
  return `<table><caption>${textOf(title)}</caption><thead><tr><th></th><th>Issued</th><th>Valid at period end</th><th>Revoked</th><th>Renewed</th></tr></thead><tbody>${body}</tbody></table>`;
}

function spreadRow(name: string, s: Spread, rule: number): string {
  const ok = s.max === null || s.max <= rule;
  return `<tr><th>${textOf(name)}</th><td>${hours(s.p50)}</td><td>${hours(s.p99)}</td><td>${hours(s.max)}</td><td class="${ok ? 'ok' : 'bad'}">${ok ? 'within 24 h' : 'over 24 h'}</td></tr>`;
}

function availabilitySection(report: Report): string {
  const a = report.availability;
  if (!a.measured)
    return `<p class="bad" id="availability-not-measured">Not measured: ${textOf(a.reason)}</p>`;
  const rows = a.periods
    .flatMap((p) =>
      p.services.map(
        (s) =>
          `<tr><th>${textOf(p.period)}</th><td>${textOf(s.service)}</td><td>${s.probes}</td><td>${s.failedProbes}</td><td>${s.downSeconds}</td><td>${s.plannedSeconds}</td><td>${share(s.availability)}</td><td class="${s.meetsTarget ? 'ok' : 'bad'}">${s.meetsTarget ? 'yes' : 'no'}</td></tr>`,
      ),
    )
    .join('');
  return `<p>Target ${share(a.target)} per service, planned maintenance counted apart.</p><table><thead><tr><th>Period</th><th>Service</th><th>Probes</th><th>Failed</th><th>Down (s)</th><th>Planned (s)</th><th>Availability</th><th>Meets target</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function crlSection(report: Report): string {
  const rows = report.crl.issuers
    .map(
      (i) =>
        `<tr><th>${textOf(i.issuerId)}</th><td>${i.fullCount}</td><td>${hours(i.maxFullGapSeconds)}</td><td>${i.gapsInPeriod}</td><td>${i.digestMismatches}</td><td>${i.retentionDays ?? '—'}</td><td class="${i.ok ? 'ok' : 'bad'}">${i.ok ? 'compliant' : 'not compliant'}</td></tr>`,
    )
    .join('');
  return `<p>Full CRLs at most ${hours(report.crl.cycleSeconds)} apart; every archived CRL's SM3 digest checked.</p><table><thead><tr><th>Issuer</th><th>Full CRLs</th><th>Largest gap</th><th>Gaps over the cycle in period</th><th>Digest mismatches</th><th>Retention (days)</th><th>Cycle</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * The yearly (or monthly) report as one self-contained HTML page: the figures, and charts drawn by
 * Chart.js whose code is inlined, so the page needs no network when it opens or prints.
 */
export function reportHtml(report: Report): string {
  const { certificates: c, applications: a, revocations: r } = report;
  const title = `Electronic certification service report ${report.period.label}`;
  const charts = {
    months: c.byMonth.map((m) => m.month),
    issued: c.byMonth.map((m) => m.issued),
    revoked: c.byMonth.map((m) => m.revoked),
    renewed: c.byMonth.map((m) => m.renewed),
    holder: (['person', 'organisation', 'device'] as const).map((t) => c.byHolderType[t].issued),
    onTime: a.months.map((m) => (m.onTimeShare === null ? null : m.onTimeShare * 100)),
    received: a.months.map((m) => m.received),
    crlP99: r.months.map((m) => (m.decidedToCrl.p99 === null ? null : m.decidedToCrl.p99 / 3600)),
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${textOf(title)}</title>
<style>
body{font-family:sans-serif;margin:2em;color:#222;max-width:60em}
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #999;margin-top:1.6em}
table{border-collapse:collapse;margin:.8em 0}td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right}
caption{text-align:left;font-weight:bold}.ok{color:#060}.bad{color:#a00}
.chart{width:100%;max-width:50em;height:16em}section{break-inside:avoid}
</style></head><body>
<h1>${textOf(title)}</h1>
<p>Period ${textOf(report.period.start)} to ${textOf(report.period.end)} (China Standard Time months ${textOf(report.period.from)}–${textOf(report.period.to)}). Generated ${textOf(report.generatedAt)} from live data.</p>
<section id="certificates"><h2>1 Certificates issued and held (template 3.1)</h2>
${countsTable('By holder type', [
  ['Person', c.byHolderType.person],
  ['Organisation', c.byHolderType.organisation],
  ['Device', c.byHolderType.device],
  ['All', c.total],
])}
${countsTable('By certificate type', [
  ['Signature', c.byCertificateType.signature],
  ['Encryption', c.byCertificateType.encryption],
])}
<div class="chart"><canvas id="chart-months"></canvas></div>
<div class="chart"><canvas id="chart-holders"></canvas></div></section>
<section id="applications"><h2>2 Applications decided within 2 working days</h2>
<p>Received ${a.received}; decided ${a.decided}; decided on time ${a.decidedOnTime} (${share(a.onTimeShare)}).</p>
<div class="chart"><canvas id="chart-applications"></canvas></div></section>
<section id="availability"><h2>3 Service availability (template 5.1)</h2>${availabilitySection(report)}</section>
<section id="crl"><h2>4 CRL cycle compliance</h2>${crlSection(report)}</section>
<section id="revocations"><h2>5 Revocation timeliness: decision to first CRL, rule 24 h</h2>
<p>Requested ${r.requested}; on a CRL ${r.onCrl}; over 24 h ${r.overRule}.</p>
<table><thead><tr><th></th><th>p50</th><th>p99</th><th>max</th><th>Rule</th></tr></thead><tbody>${spreadRow('Decision to first CRL', r.decidedToCrl, r.ruleSeconds)}</tbody></table>
<div class="chart"><canvas id="chart-revocations"></canvas></div></section>
<script>${chartJs()}</script>
<script type="application/json" id="chart-data">${JSON.stringify(charts).replaceAll('<', '\\u003c')}</script>
<script>
const d = JSON.parse(document.getElementById('chart-data').textContent);
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
const bar = (id, labels, datasets, title) => new Chart(document.getElementById(id), {
  type: 'bar', data: { labels, datasets }, options: { plugins: { title: { display: true, text: title } } } });
bar('chart-months', d.months, [
  { label: 'Issued', data: d.issued, backgroundColor: '#3569a8' },
  { label: 'Revoked', data: d.revoked, backgroundColor: '#b13c3c' },
  { label: 'Renewed', data: d.renewed, backgroundColor: '#4b9a4b' }], 'Certificates per month');
bar('chart-holders', ['Person', 'Organisation', 'Device'], [
  { label: 'Issued', data: d.holder, backgroundColor: ['#3569a8', '#c98a2b', '#6a4ba8'] }], 'Issued by holder type');
new Chart(document.getElementById('chart-applications'), { data: { labels: d.months, datasets: [
  { type: 'bar', label: 'Received', data: d.received, backgroundColor: '#9bb3d1', yAxisID: 'y' },
  { type: 'line', label: 'Decided on time (%)', data: d.onTime, borderColor: '#2d7d2d', yAxisID: 'share' }] },
  options: { scales: { share: { position: 'right', min: 0, max: 100 } },
    plugins: { title: { display: true, text: 'Applications per month' } } } });
bar('chart-revocations', d.months, [
  { label: 'Decision to CRL p99 (h)', data: d.crlP99, backgroundColor: '#b13c3c' }], 'Revocation to CRL, p99 hours (rule 24 h)');
document.body.dataset.chartsReady = 'true';
</script>
</body></html>
`;
}
