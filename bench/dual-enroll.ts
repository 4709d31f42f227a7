/**
 * Dual enrollments per second end to end beside single-certificate issuance, in one run against
 * one started stack (RA, CA and KM, each its own process, as `sm2ca start` runs them): approved
 * applications issued by N concurrent certificate makers, first single (device-sign), then dual
 * (device-sign + device-encrypt for a KM key enveloped to the holder). During the run the KM's
 * key pool is sampled; after it, the pool filler's refill rate is measured while it tops the pool
 * up again; the crypto device's raw SM2 sign rate is measured in the same run.
 * Goal: dual >= 60% of the single rate, and the pool never runs dry.
 * Prints figures, never asserts.  Run: npx tsx bench/dual-enroll.ts [applications] [makers]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSm2Spki } from '@sm2ca/gm';
import { buildCsr } from '@sm2ca/pki';
import { loadConfig, openConfiguredDevice } from '@sm2ca/platform';
import { connectPool, startEmbeddedPostgres } from '@sm2ca/store';
import { freePort } from '../test/support/free-port.ts';
import { startStack } from '../test/support/sm2ca-stack.ts';

const applications = Number(process.argv[2] ?? 500);
const makers = Number(process.argv[3] ?? 16);

type Device = Awaited<ReturnType<typeof openConfiguredDevice>>;

async function rawSignRate(device: Device, label: string) {
  const message = Buffer.alloc(512, 0x42);
  const deadline = performance.now() + 3000;
  let count = 0;
  // As many signatures in flight as the device session pool allows: what the CA process itself can get.
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < deadline) {
        await device.sign(label, message);
        count++;
      }
    }),
  );
  return count / 3;
}

const pgDir = mkdtempSync(join(tmpdir(), 'bench-dual-pg-'));
const pg = await startEmbeddedPostgres({ dir: pgDir, port: await freePort() });
const stack = await startStack(pg.url, { SM2CA_DB_POOL_SIZE: '20' }, ['ca', 'ra', 'km']);
const db = await connectPool(pg.url);
try {
  const config = loadConfig(stack.env);
  const operator = async (name: string, role: string) =>
    (await stack.cli(['operator', 'add', '--name', name, '--role', role])).stdout.trim();
  const clerk = await operator('clerk', 'entry-clerk');
  const reviewer = await operator('reviewer', 'reviewer');
  const maker = await operator('maker', 'certificate-maker');
  const call = async (token: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.url.ra}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<{ id: string }>;
  };

  // Holder keys come from the bench's own device session: a holder's token, as far as the CA can tell.
  const device = await openConfiguredDevice(config);
  const prepare = async (kind: 'single' | 'dual') => {
    process.stderr.write(`preparing ${applications} approved ${kind} applications…\n`);
    const ids: string[] = [];
    for (let i = 0; i < applications; i++) {
      const label = `bench-${kind}-${i}`;
      const publicKey = decodeSm2Spki(await device.generateKeyPair({ label, token: false }));
      const csr = await buildCsr(
        { subject: [{ type: 'CN', value: label }], publicKey },
        device.signer(label),
      );
      const { id } = await call(clerk, '/v1/applications', {
        holderType: 'device',
        profile: 'device-sign',
        holder: { commonName: label, organization: 'Bench' },
        csr: Buffer.from(csr).toString('base64'),
        publishConsent: false,
        dual: kind === 'dual',
      });
      await call(reviewer, `/v1/applications/${id}/review`, { decision: 'approve' });
      ids.push(id);
    }
    return ids;
  };
  const singles = await prepare('single');
  const duals = await prepare('dual');

  const pooled = async () =>
    Number((await db.query("SELECT count(*) AS n FROM km_keys WHERE state = 'pooled'")).rows[0].n);
  // The filler fills the pool at start; the run begins with it full, as a service that has been up a while.
  while ((await pooled()) < config.km.poolSize) await new Promise((r) => setTimeout(r, 200));

  const issueAll = async (ids: string[]) => {
    const latencies: number[] = [];
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: makers }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          const t = performance.now();
          await call(maker, `/v1/applications/${id}/issue`);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1);
    return { seconds, rate: ids.length / seconds, p50: pct(0.5), p99: pct(0.99) };
  };

  process.stderr.write(`issuing single with ${makers} concurrent makers…\n`);
  const single = await issueAll(singles);

  process.stderr.write(`issuing dual with ${makers} concurrent makers…\n`);
  const samples: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(await pooled());
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const dualStartedAt = new Date();
  const dual = await issueAll(duals);
  sampling = false;
  await sampler;

  // Refill: the filler tops the pool up in bursts once it falls below the low-water mark. Its rate
  // is the keys it generated from the start of the dual run over the time it spent generating
  // (bursts split where no key came for half a second), waiting first until it is idle again.
  const lastGenerated = async () =>
    (await db.query('SELECT max(generated_at) AS at FROM km_keys')).rows[0].at as Date;
  const idleDeadline = Date.now() + 120_000;
  while (Date.now() - (await lastGenerated()).getTime() < 1000 && Date.now() < idleDeadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const times = (
    await db.query('SELECT generated_at FROM km_keys WHERE generated_at >= $1 ORDER BY generated_at', [
      dualStartedAt,
    ])
  ).rows.map((r) => (r.generated_at as Date).getTime());
  let busyMs = 0;
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    if (gap < 500) busyMs += gap;
  }
  const refillRate = times.length > 1 ? (times.length - 1) / (busyMs / 1000) : 0;

  const rate = await rawSignRate(device, 'bench-single-0');
  await device.close();

  console.log(`machine: ${cpus().length} cores`);
  console.log(
    `single issued end to end (approve → issue, RA + CA processes): ${applications} in ${single.seconds.toFixed(2)} s = ${single.rate.toFixed(0)}/s with ${makers} makers (p50 ${single.p50} ms, p99 ${single.p99} ms)`,
  );
  console.log(
    `dual issued end to end (approve → issue of both, RA + CA + KM processes): ${applications} in ${dual.seconds.toFixed(2)} s = ${dual.rate.toFixed(0)}/s with ${makers} makers (p50 ${dual.p50} ms, p99 ${dual.p99} ms)`,
  );
  console.log(`ratio dual / single: ${((dual.rate / single.rate) * 100).toFixed(0)}%   (goal: >= 60%)`);
  console.log(
    `KM pool (size ${config.km.poolSize}, low water ${config.km.poolLowWater}) during the dual run: ${samples.length} samples, min ${Math.min(...samples)}, max ${Math.max(...samples)}   (goal: min > 0)`,
  );
  console.log(
    `KM pool refill: ${times.length} keys generated from the start of the dual run, ${(busyMs / 1000).toFixed(2)} s generating = ${refillRate.toFixed(0)} keys/s; pool after the run: ${await pooled()}`,
  );
  console.log(`device raw SM2 sign rate (same run, 4 in flight): ${rate.toFixed(0)}/s`);
} finally {
  await db.end();
  await stack.stop();
  await pg.stop();
  rmSync(pgDir, { recursive: true, force: true });
}
