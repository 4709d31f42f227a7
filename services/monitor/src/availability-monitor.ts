import { type Config, LeaderJob, type Logger, type ServiceMetrics } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { probeCrl } from './crl-probe.ts';
import { probeDirectory } from './directory-probe.ts';
import { KnownIssuers } from './known-issuers.ts';
import { probeOcsp } from './ocsp-probe.ts';
import { failureCode, fetchOk } from './probe-failure.ts';

const LEADER_LOCK = 'sm2ca:availability-monitor';

/** One public service as the monitor probes it: every check must pass for the service to count as up. */
interface ServiceProbe {
  service: 'ra' | 'ocsp' | 'crl' | 'directory';
  target: string;
  check(signal: AbortSignal, timeoutMs: number): Promise<void>;
}

export interface ProbeResult {
  service: string;
  target: string;
  probedAt: Date;
  ok: boolean;
  latencyMs: number;
  errorCode: string | null;
}

const local = (host: string) => (host === '0.0.0.0' ? '127.0.0.1' : host);

function serviceProbes(config: Config, issuers: KnownIssuers): ServiceProbe[] {
  const ra = config.services.ra;
  const raReady = `http://${local(ra.host)}:${ra.port}/health/ready`;
  const crlBase = config.publicUrls.crl.replace(/\/$/, '');
  const probes: ServiceProbe[] = [
    { service: 'ra', target: raReady, check: (signal) => fetchOk(raReady, signal).then(() => {}) },
    {
      service: 'ocsp',
      target: config.publicUrls.ocsp,
      async check(signal) {
        for (const issuer of await issuers.list()) await probeOcsp(config.publicUrls.ocsp, issuer, signal);
      },
    },
    {
      service: 'crl',
      target: `${crlBase}/crl/`,
      async check(signal) {
        for (const issuer of await issuers.list()) {
          await probeCrl(crlBase, issuer, config.crl.intervalMinutes * 60, signal);
        }
      },
    },
  ];
  const { url, baseDn, bindDn, password } = config.directory;
  if (url) {
    probes.push({
      service: 'directory',
      target: url,
      check: (_signal, timeoutMs) =>
        probeDirectory(
          { url, baseDn, ...(bindDn ? { bindDn } : {}), ...(password ? { password } : {}) },
          timeoutMs,
        ),
    });
  }
  return probes;
}

/**
 * Probes every public endpoint the way a relying party or an operator reaches it, every
 * `intervalMs`, and stores each result: the evidence the RA computes availability from. One
 * monitor replica probes at a time (an advisory lock), so replicas never double the evidence; it
 * runs as its own process and database role, so it keeps measuring while any probed service is down.
 */
export class AvailabilityMonitor {
  readonly #job: LeaderJob;
  readonly #probes: ServiceProbe[];
  readonly #timeoutMs: number;

  constructor(
    private readonly options: {
      pool: Pool;
      url: string;
      config: Config;
      log: Logger;
      metrics: ServiceMetrics;
      leaderRetryMs?: number;
    },
  ) {
    const intervalMs = Math.round(options.config.monitor.intervalSeconds * 1000);
    // A probe slower than its interval is as good as down, but a short test interval must not fail
    // a responder that merely paused for a garbage collection.
    this.#timeoutMs = Math.min(10_000, Math.max(1_000, intervalMs));
    this.#probes = serviceProbes(options.config, new KnownIssuers(options.pool));
    this.#job = new LeaderJob({
      url: options.url,
      applicationName: 'sm2ca-availability-monitor',
      lock: LEADER_LOCK,
      channels: [],
      everyMs: intervalMs,
      ...(options.leaderRetryMs ? { retryMs: options.leaderRetryMs } : {}),
      log: options.log,
      work: () => this.#round(intervalMs),
      failure: 'availability probes could not be stored; probing again',
    });
  }

  get leader(): boolean {
    return this.#job.leader;
  }

  start(): Promise<void> {
    return this.#job.start();
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }

  async #round(intervalMs: number): Promise<void> {
    const probedAt = new Date();
    const results = await Promise.all(this.#probes.map((probe) => this.#probe(probe, probedAt)));
    await this.options.pool.query(
      `INSERT INTO availability_probes (service, target, probed_at, ok, latency_ms, error_code, interval_ms)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::boolean[], $5::int[], $6::text[], $7::int[])`,
      [
        results.map((r) => r.service),
        results.map((r) => r.target),
        results.map((r) => r.probedAt),
        results.map((r) => r.ok),
        results.map((r) => r.latencyMs),
        results.map((r) => r.errorCode),
        results.map(() => intervalMs),
      ],
    );
  }

  async #probe(probe: ServiceProbe, probedAt: Date): Promise<ProbeResult> {
    const started = performance.now();
    let errorCode: string | null = null;
    try {
      await probe.check(AbortSignal.timeout(this.#timeoutMs), this.#timeoutMs);
    } catch (err) {
      errorCode = failureCode(err);
    }
    const seconds = (performance.now() - started) / 1000;
    const { metrics } = this.options;
    const labels = { endpoint: probe.service };
    metrics
      .counter({
        name: 'sm2ca_availability_probes_total',
        help: 'Availability probes of each public endpoint, by result and failure code',
        labelNames: ['endpoint', 'result', 'code'],
      })
      .inc({ ...labels, result: errorCode ? 'failed' : 'ok', code: errorCode ?? '' });
    metrics
      .histogram({
        name: 'sm2ca_availability_probe_duration_seconds',
        help: 'Time each availability probe took, failed ones included',
        labelNames: ['endpoint'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      })
      .observe(labels, seconds);
    metrics
      .gauge({
        name: 'sm2ca_availability_up',
        help: '1 when the latest probe of the endpoint passed, 0 when it failed',
        labelNames: ['endpoint'],
      })
      .set(labels, errorCode ? 0 : 1);
    if (errorCode) this.options.log.warn({ service: probe.service, code: errorCode }, 'probe failed');
    return {
      service: probe.service,
      target: probe.target,
      probedAt,
      ok: errorCode === null,
      latencyMs: Math.round(seconds * 1000),
      errorCode,
    };
  }
}
