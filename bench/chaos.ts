/**
 * Availability under failure on the local HA stack (deploy/cluster/README.md): a bounded steady
 * load — enrolments end to end (submit, review, issue, download), OCSP GET and POST, CRL
 * fetches, a revocation every 10 s — while a random service replica is SIGKILLed every 30 s,
 * the PostgreSQL primary's postmaster is SIGKILLed once (Patroni promotes the synchronous
 * standby) and one etcd member is restarted. Then the integrity check: every issuance the RA
 * acknowledged has its certificate, no serial or request doubled, no gap in the cRLNumbers,
 * and `sm2ca audit verify` passes. Goal: >= 99.9% of requests succeed (>= 99.99% OCSP GET).
 * Prints figures, never asserts.  Run: npx tsx bench/chaos.ts [seconds=180]
 */
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import {
  buildOcspCertId,
  buildOcspRequest,
  parseCertificate,
  parseOcspResponse,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import { startHaStack } from '../test/support/ha-cluster/ha-stack.ts';
import { type Acknowledged, checkIntegrity, intact } from '../test/support/ha-cluster/integrity.ts';
import { RequestTally } from '../test/support/ha-cluster/request-tally.ts';
import { opensslHolderCsr, tempDir } from '../test/support/openssl-cli.ts';
import { raOperators } from '../test/support/ra-client.ts';

const seconds = Number(process.argv[2] ?? 180);
/** Requests started per second, whatever the answers take (an open loop, as real clients are). */
const rate = { ocspGet: 20, ocspPost: 10, crl: 5, enrolment: 1 };
/** Beyond this many requests in flight the load generator itself is the bottleneck: it skips a beat. */
const maxInFlight = 200;
const requestTimeoutMs = 30_000;

const holder = { commonName: '孙八', identity: { residentId: '11010519491231002X' } };
const dir = tempDir('bench-chaos-');
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

log(
  `starting the HA stack (load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')})`,
);
const stack = await startHaStack({ SM2CA_KM_POOL_SIZE: '4', SM2CA_KM_POOL_LOW_WATER: '1' });
try {
  const operators = await raOperators(stack);
  const acknowledged: Acknowledged[] = [];
  let csrs = 0;
  const csr = () => opensslHolderCsr(dir, `h${csrs}`, `/C=CN/CN=Chaos Holder ${csrs++}`);

  // What OCSP is asked about: certificates issued before the load starts.
  const seeds = [];
  for (let i = 0; i < 10; i++) seeds.push(await operators.issue(csr(), holder));
  acknowledged.push(...seeds.map((s) => ({ issuerId: s.issuerId, serial: s.serial })));
  const issuerId = seeds[0]!.issuerId;
  const issuerCert = parseCertificate(
    Buffer.from(await (await fetch(`${stack.url.crl}/ca/${issuerId}.cer`)).arrayBuffer()),
  );
  const issuer = { subjectDer: issuerCert.subject, publicKey: publicKeyOfSpki(issuerCert.spki) };
  const ocspRequests = seeds.map((s) =>
    buildOcspRequest([buildOcspCertId(issuer, BigInt(`0x${s.serial}`)).der]),
  );

  const tally = new RequestTally();
  let inFlight = 0;
  let skipped = 0;
  const fetchOk = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(requestTimeoutMs) });
    const body = Buffer.from(await res.arrayBuffer());
    if (!res.ok) throw new Error(`HTTP ${res.status} ${body.toString().slice(0, 60)}`);
    return body;
  };
  const ocspGood = (body: Buffer) => {
    const answer = parseOcspResponse(body);
    if (answer.status !== 'successful') throw new Error(`OCSP ${answer.status}`);
  };
  const ra = async (
    path: string,
    as: 'clerk' | 'reviewer' | 'maker' | undefined,
    body: unknown,
    expect: number,
  ) => {
    const res = await operators.ra('POST', path, as, body);
    if (res.status !== expect) throw new Error(`HTTP ${res.status} ${res.text.slice(0, 60)}`);
    return res;
  };
  const kinds: Record<keyof typeof rate, (i: number) => Promise<unknown>> = {
    ocspGet: (i) =>
      tally.record('ocsp GET', async () => {
        const der = ocspRequests[i % ocspRequests.length]!;
        ocspGood(await fetchOk(`${stack.url.ocsp}/ocsp/${encodeURIComponent(der.toString('base64'))}`));
      }),
    ocspPost: (i) =>
      tally.record('ocsp POST', async () => {
        const body = ocspRequests[i % ocspRequests.length]!;
        const headers = { 'content-type': 'application/ocsp-request' };
        ocspGood(await fetchOk(`${stack.url.ocsp}/ocsp`, { method: 'POST', headers, body }));
      }),
    crl: () => tally.record('crl GET', () => fetchOk(`${stack.url.crl}/crl/${issuerId}.crl`)),
    enrolment: async () => {
      const application = {
        holderType: 'person',
        profile: 'person-sign',
        holder,
        csr: csr(),
        publishConsent: false,
      };
      const entered = await tally.record('enrol submit', () =>
        ra('/v1/applications', 'clerk', application, 201),
      );
      if (!entered) return;
      const path = `/v1/applications/${entered.json().id}`;
      const approve = { decision: 'approve' };
      if (!(await tally.record('enrol review', () => ra(`${path}/review`, 'reviewer', approve, 200)))) return;
      const answer = await tally.record('enrol issue', () => ra(`${path}/issue`, 'maker', undefined, 201));
      if (!answer) return;
      const issued = answer.json();
      acknowledged.push({ issuerId: issued.issuerId, serial: issued.serial });
      const { reference, code } = issued.download;
      await tally.record('enrol download', () =>
        ra('/v1/download', undefined, { reference, code, format: 'pem' }, 200),
      );
    },
  };

  const started = Date.now();
  const until = started + seconds * 1000;
  const loops = Object.entries(rate).map(async ([name, perSecond]) => {
    const pending = new Set<Promise<unknown>>();
    for (let i = 0; Date.now() < until; i++) {
      const due = started + (i * 1000) / perSecond;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      if (inFlight >= maxInFlight) {
        skipped++;
        continue;
      }
      inFlight++;
      const p = kinds[name as keyof typeof rate](i).finally(() => {
        inFlight--;
        pending.delete(p);
      });
      pending.add(p);
    }
    await Promise.all(pending);
  });
  const revocations = (async () => {
    for (let n = 0; Date.now() < until - 10_000; n++) {
      await new Promise((r) => setTimeout(r, 10_000));
      const target = acknowledged[seeds.length + n];
      if (!target) continue;
      await tally.record('revoke', () => operators.revoke(target.issuerId, target.serial));
    }
  })();

  // The chaos: a replica every 30 s, the primary at 40% of the run, an etcd member at 70%.
  const chaos = (async () => {
    const events = [
      ...Array.from({ length: Math.floor(seconds / 30) }, (_, i) => ({ at: (i + 1) * 30, what: 'replica' })),
      { at: Math.round(seconds * 0.4), what: 'primary' },
      { at: Math.round(seconds * 0.7), what: 'etcd' },
    ].sort((a, b) => a.at - b.at);
    for (const event of events) {
      const wait = started + event.at * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (Date.now() >= until) return;
      if (event.what === 'replica') {
        // As a PodDisruptionBudget allows: a replica of a service whose replicas are all up.
        const up = await Promise.all(
          stack.replicas.map((r) =>
            fetch(`http://127.0.0.1:${r.port}/health/live`, { signal: AbortSignal.timeout(2_000) }).then(
              (res) => res.ok,
              () => false,
            ),
          ),
        );
        const whole = new Set(stack.replicas.map((r) => r.service));
        stack.replicas.forEach((r, i) => {
          if (!up[i]) whole.delete(r.service);
        });
        const candidates = stack.replicas.filter((r) => whole.has(r.service));
        const victim = candidates[Math.floor(Math.random() * candidates.length)];
        if (!victim) {
          log('chaos: no service has all its replicas up; nobody killed this time');
          continue;
        }
        victim.process.crash();
        log(`chaos: SIGKILL service replica ${victim.process.spec.name}`);
      } else if (event.what === 'primary') {
        let primary = await stack.patroni.primary();
        for (let i = 0; !primary && i < 20; i++) {
          await new Promise((r) => setTimeout(r, 500));
          primary = await stack.patroni.primary();
        }
        if (!primary) log('chaos: no primary found to kill');
        else {
          const pid = stack.patroni.killPostmaster(primary);
          const killedAt = Date.now();
          log(`chaos: SIGKILL PostgreSQL primary ${primary.name} (postmaster ${pid})`);
          void (async () => {
            for (;;) {
              const now = await stack.patroni.primary();
              if (now && now !== primary) {
                log(`chaos: ${now.name} promoted ${((Date.now() - killedAt) / 1000).toFixed(1)} s later`);
                return;
              }
              await new Promise((r) => setTimeout(r, 200));
            }
          })();
        }
      } else {
        const member = stack.etcd.members[Math.floor(Math.random() * stack.etcd.members.length)]!;
        member.crash();
        log(`chaos: SIGKILL etcd member ${member.spec.name} (started again after 1 s)`);
      }
    }
  })();
  await Promise.all([...loops, revocations, chaos]);
  const elapsed = (Date.now() - started) / 1000;

  // The issue retrier finishes what a dead replica left half done; give it a moment before looking.
  await new Promise((r) => setTimeout(r, 5_000));
  const integrity = await checkIntegrity(stack.adminDatabaseUrl, acknowledged);
  const audit = await stack.cli(['audit', 'verify']);
  const summary = tally.summary();

  console.log(
    `\nbench/chaos: ${elapsed.toFixed(0)} s of load on the HA stack (load average now ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  console.log(`rates/s: ${JSON.stringify(rate)}; beats skipped (generator saturated): ${skipped}`);
  console.log('kind            sent      ok  failed  availability  longest outage');
  for (const k of summary.kinds) {
    console.log(
      `${k.kind.padEnd(14)} ${String(k.sent).padStart(5)} ${String(k.ok).padStart(7)} ${String(k.failed).padStart(7)} ${k.availability.toFixed(3).padStart(12)}% ${(k.longestOutageMs / 1000).toFixed(1).padStart(12)} s`,
    );
    for (const [reason, n] of Object.entries(k.reasons)) console.log(`    ${n} × ${reason}`);
  }
  console.log(
    `overall: ${summary.sent} sent, ${summary.ok} succeeded, ${summary.failed} failed: ${summary.availability.toFixed(3)}% available (goal 99.9%); longest outage a client saw: ${(summary.longestOutageMs / 1000).toFixed(1)} s`,
  );
  const ocspGet = summary.kinds.find((k) => k.kind === 'ocsp GET');
  console.log(`OCSP GET: ${ocspGet?.availability.toFixed(3)}% (goal 99.99%)`);
  console.log(
    `replica restarts: ${stack.replicas
      .map((r) => `${r.process.spec.name}×${r.process.restarts}`)
      .filter((s) => !s.endsWith('×0'))
      .join(', ')}`,
  );
  console.log(
    `integrity: ${intact(integrity) ? 'INTACT' : 'BROKEN'} — ${integrity.acknowledged} acknowledged issuances, ${integrity.lost.length} lost, ` +
      `${integrity.duplicateSerials.length} duplicate serials, ${integrity.requestsWithTwoCertificates.length} requests with two certificates, ` +
      `${integrity.applicationsWithoutCertificate.length} issued applications without certificate, ` +
      `${integrity.crlsPublished} CRLs, gaps: ${JSON.stringify(integrity.crlGaps)}`,
  );
  // What the replicas logged as errors (LOG_LEVEL warn; pino level 50 and up), most frequent first.
  const errors = new Map<string, number>();
  for (const r of stack.replicas) {
    for (const line of r.process.output().split('\n')) {
      if (!/"level":(50|60)/.test(line)) continue;
      let entry: { msg?: string; err?: { message?: string } };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      const key = `${r.service}: ${entry.msg} ${entry.err?.message ?? ''}`.slice(0, 160);
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
  }
  for (const [line, n] of [...errors].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
    console.log(`service error log: ${n} × ${line}`);
  }
  console.log(
    `audit chain (sm2ca audit verify): exit ${audit.code}; ${(audit.stdout + audit.stderr).trim().split('\n').slice(-3).join(' | ')}`,
  );
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
