/**
 * Dual enrollments per second end to end beside single-certificate issuance, in one run against
 * one started stack (RA, CA and KM, each its own process, as `sm2ca start` runs them): approved
 * applications issued by N concurrent certificate makers, single (device-sign) and dual
 * (device-sign + device-encrypt for a KM key enveloped to the holder) taking turns in rounds. During the run the KM's
 * key pool is sampled; after it, the pool filler's refill rate is measured while it tops the pool
 * up again; the crypto device's raw SM2 sign rate is measured in the same run.
 * Then whole enrollments (entry, review, issue, the holder's download) single and dual, also in turns.
 * Goal: dual enrollments >= 60% of the single rate end to end, and the pool never runs dry; the
 * issue step alone is printed beside it, the stricter ratio.
 * Prints figures, never asserts.  Run: npx tsx bench/dual-enroll.ts [applications] [makers] [rounds]
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
import { addStackOperator } from '../test/support/stack-operators.ts';

const applications = Number(process.argv[2] ?? 500);
const makers = Number(process.argv[3] ?? 16);
const rounds = Number(process.argv[4] ?? 4);

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
  const operator = (name: string, role: string) => addStackOperator(stack, name, [role]);
  const clerk = await operator('clerk', 'entry-clerk');
  const reviewer = await operator('reviewer', 'reviewer');
  const maker = await operator('maker', 'certificate-maker');
  const call = async (token: string | undefined, path: string, body?: unknown) => {
    const res = await fetch(`${stack.url.ra}${path}`, {
      method: 'POST',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<{ id: string; download: { reference: string; code: string } }>;
  };

  // Holder keys come from the bench's own device session: a holder's token, as far as the CA can tell.
  const device = await openConfiguredDevice(config);
  // A holder's application as the entry clerk keys it in: the key pair and CSR are the holder's own work, made ahead.
  const holderApplication = async (label: string, kind: 'single' | 'dual') => {
    const publicKey = decodeSm2Spki(await device.generateKeyPair({ label, token: false }));
    const csr = await buildCsr({ subject: [{ type: 'CN', value: label }], publicKey }, device.signer(label));
    return {
      holderType: 'device',
      profile: 'device-sign',
      holder: { commonName: label, organization: 'Bench' },
      csr: Buffer.from(csr).toString('base64'),
      publishConsent: false,
      dual: kind === 'dual',
    };
  };
  const prepare = async (kind: 'single' | 'dual') => {
    process.stderr.write(`preparing ${applications} approved ${kind} applications…\n`);
    const ids: string[] = [];
    for (let i = 0; i < applications; i++) {
      const { id } = await call(
        clerk,
        '/v1/applications',
        await holderApplication(`bench-${kind}-${i}`, kind),
      );
      await call(reviewer, `/v1/applications/${id}/review`, { decision: 'approve' });
      ids.push(id);
    }
    return ids;
  };
  const singles = await prepare('single');
  const duals = await prepare('dual');
  const enrollments = Math.max(1, Math.floor(applications / 2));
  const holders = async (kind: 'single' | 'dual') => {
    process.stderr.write(`preparing ${enrollments} ${kind} holders' CSRs for whole enrollments…\n`);
    const bodies = [];
    for (let i = 0; i < enrollments; i++)
      bodies.push(await holderApplication(`bench-e2e-${kind}-${i}`, kind));
    return bodies;
  };
  const singleHolders = await holders('single');
  const dualHolders = await holders('dual');

  const pooled = async () =>
    Number((await db.query("SELECT count(*) AS n FROM km_keys WHERE state = 'pooled'")).rows[0].n);
  // The filler fills the pool at start; the run begins with it full, as a service that has been up a while.
  while ((await pooled()) < config.km.poolSize) await new Promise((r) => setTimeout(r, 200));

  // Issues `ids` with the makers; answers the seconds it took and each call's latency.
  const issueAll = async (ids: string[], latencies: number[]) => {
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
    return (performance.now() - start) / 1000;
  };
  // Whole enrollments: entry, review by another operator, issue, and the holder's download.
  const enrollAll = async (bodies: unknown[]) => {
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: makers }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++];
          const { id } = await call(clerk, '/v1/applications', body);
          await call(reviewer, `/v1/applications/${id}/review`, { decision: 'approve' });
          const { download } = await call(maker, `/v1/applications/${id}/issue`);
          await call(undefined, '/v1/download', {
            reference: download.reference,
            code: download.code,
            format: 'der',
          });
        }
      }),
    );
    return (performance.now() - start) / 1000;
  };
  const percentile = (latencies: number[], p: number) =>
    [...latencies]
      .sort((a, b) => a - b)
      [Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1);

  // Single and dual take turns in rounds, so a load that comes and goes on the machine meets both alike.
  const samples: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(await pooled());
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const runStartedAt = new Date();
  const single = { seconds: 0, latencies: [] as number[] };
  const dual = { seconds: 0, latencies: [] as number[] };
  const chunk = Math.ceil(applications / rounds);
  const wholeSingle = { seconds: 0 };
  const wholeDual = { seconds: 0 };
  const enrollChunk = Math.ceil(enrollments / rounds);
  try {
    for (let round = 0; round < rounds; round++) {
      process.stderr.write(
        `round ${round + 1}/${rounds}: single, then dual, with ${makers} concurrent makers…\n`,
      );
      const slice = (ids: string[]) => ids.slice(round * chunk, (round + 1) * chunk);
      single.seconds += await issueAll(slice(singles), single.latencies);
      dual.seconds += await issueAll(slice(duals), dual.latencies);
    }
    for (let round = 0; round < rounds; round++) {
      process.stderr.write(`round ${round + 1}/${rounds} of whole enrollments: single, then dual…\n`);
      const slice = <T>(items: T[]) => items.slice(round * enrollChunk, (round + 1) * enrollChunk);
      wholeSingle.seconds += await enrollAll(slice(singleHolders));
      wholeDual.seconds += await enrollAll(slice(dualHolders));
    }
  } finally {
    // The sampler shares the pool that closes at the end: it stops first, even when a round fails.
    sampling = false;
    await sampler;
  }
  const singleRate = applications / single.seconds;
  const dualRate = applications / dual.seconds;
  const wholeSingleRate = enrollments / wholeSingle.seconds;
  const wholeDualRate = enrollments / wholeDual.seconds;

  // Refill: the filler tops the pool up once it falls below the low-water mark, a batch of keys
  // per statement (one generated_at each). Its rate is the keys of each batch over the time since
  // the batch before, counted while it works without a pause (batches under a second apart), from
  // the start of the run until it is idle again. Keys the KM made on the spot for an empty
  // pool (generated when taken) are not the filler's and are counted apart.
  const lastGenerated = async () =>
    (await db.query('SELECT max(generated_at) AS at FROM km_keys')).rows[0].at as Date;
  const idleDeadline = Date.now() + 120_000;
  while (Date.now() - (await lastGenerated()).getTime() < 1000 && Date.now() < idleDeadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const batches = (
    await db.query(
      `SELECT generated_at, count(*)::int AS keys FROM km_keys
        WHERE generated_at >= $1 AND taken_at IS DISTINCT FROM generated_at
        GROUP BY generated_at ORDER BY generated_at`,
      [runStartedAt],
    )
  ).rows.map((r) => ({ at: (r.generated_at as Date).getTime(), keys: r.keys as number }));
  const onTheSpot = Number(
    (
      await db.query(
        'SELECT count(*) AS n FROM km_keys WHERE generated_at >= $1 AND taken_at = generated_at',
        [runStartedAt],
      )
    ).rows[0].n,
  );
  let busyMs = 0;
  let refilled = 0;
  for (let i = 1; i < batches.length; i++) {
    const gap = batches[i]!.at - batches[i - 1]!.at;
    if (gap < 1000) {
      busyMs += gap;
      refilled += batches[i]!.keys;
    }
  }
  const pooledKeys = batches.reduce((sum, b) => sum + b.keys, 0);
  const refillRate = busyMs > 0 ? refilled / (busyMs / 1000) : 0;

  // Where a dual issuance spends its time, from the rows each step wrote (statement start times,
  // so rough): the CA's signature certificate (until it is stored; the encryption serial is
  // planned with it), the CA → KM → CA key application, the CA's
  // encryption certificate, and the RA recording both.
  const stepMs = (
    await db.query(
      `SELECT avg(extract(epoch FROM s.issued_at - r.received_at)) * 1000 AS signature,
              avg(extract(epoch FROM e.planned_at - s.issued_at)) * 1000 AS km_round_trip,
              avg(extract(epoch FROM q.received_at - s.issued_at)) * 1000 AS to_km,
              avg(extract(epoch FROM e.planned_at - q.received_at)) * 1000 AS from_km,
              avg(extract(epoch FROM e.issued_at - e.planned_at)) * 1000 AS encryption,
              avg(extract(epoch FROM a.issued_at - e.issued_at)) * 1000 AS ra_record
         FROM applications a
         JOIN ca_requests r ON r.request_id = a.ca_request_id
         JOIN certificates s ON s.issuer_id = a.issuer_id AND s.serial = a.serial
         JOIN km_certificates k ON k.request_id = a.ca_request_id
         JOIN certificates e ON e.issuer_id = k.issuer_id AND e.serial = k.serial
         JOIN km_requests q ON q.task_no = a.ca_request_id
        WHERE a.dual AND a.status = 'issued'`,
    )
  ).rows[0];
  const singleMs = (
    await db.query(
      `SELECT avg(extract(epoch FROM c.issued_at - r.received_at)) * 1000 AS signature,
              avg(extract(epoch FROM a.issued_at - c.issued_at)) * 1000 AS ra_record
         FROM applications a
         JOIN ca_requests r ON r.request_id = a.ca_request_id
         JOIN certificates c ON c.issuer_id = a.issuer_id AND c.serial = a.serial
        WHERE NOT a.dual AND a.status = 'issued'`,
    )
  ).rows[0];
  const ms = (value: unknown) => `${Number(value).toFixed(1)} ms`;

  const rate = await rawSignRate(device, 'bench-single-0');
  await device.close();

  console.log(`machine: ${cpus().length} cores`);
  console.log(
    `single issued end to end (approve → issue, RA + CA processes): ${applications} in ${single.seconds.toFixed(2)} s = ${singleRate.toFixed(0)}/s with ${makers} makers (p50 ${percentile(single.latencies, 0.5)} ms, p99 ${percentile(single.latencies, 0.99)} ms)`,
  );
  console.log(
    `dual issued end to end (approve → issue of both, RA + CA + KM processes): ${applications} in ${dual.seconds.toFixed(2)} s = ${dualRate.toFixed(0)}/s with ${makers} makers (p50 ${percentile(dual.latencies, 0.5)} ms, p99 ${percentile(dual.latencies, 0.99)} ms)`,
  );
  console.log(`ratio dual / single, issue step alone: ${((dualRate / singleRate) * 100).toFixed(0)}%`);
  console.log(
    `whole enrollments (entry, review, issue, holder download; ${makers} at once): single ${wholeSingleRate.toFixed(1)}/s, dual ${wholeDualRate.toFixed(1)}/s, ratio ${((wholeDualRate / wholeSingleRate) * 100).toFixed(0)}%   (goal: >= 60%)`,
  );
  console.log(
    `  mean steps, single: CA signature certificate ${ms(singleMs.signature)}, RA records it ${ms(singleMs.ra_record)}`,
  );
  console.log(
    `  mean steps, dual: CA signature certificate ${ms(stepMs.signature)}, CA → KM → CA key ${ms(stepMs.km_round_trip)} (until the KM records the request ${ms(stepMs.to_km)}, from then to the CA planning the certificate ${ms(stepMs.from_km)}), CA encryption certificate ${ms(stepMs.encryption)}, RA records both ${ms(stepMs.ra_record)}`,
  );
  console.log(
    `KM pool (size ${config.km.poolSize}, low water ${config.km.poolLowWater}) during the run (${rounds} rounds): ${samples.length} samples, min ${Math.min(...samples)}, max ${Math.max(...samples)}   (goal: min > 0)`,
  );
  console.log(
    `KM pool refill: ${pooledKeys} keys added by the filler from the start of the run in ${batches.length} batches; while working ${refillRate.toFixed(0)} keys/s; keys made on the spot for an empty pool: ${onTheSpot}; pool after the run: ${await pooled()}`,
  );
  console.log(`device raw SM2 sign rate (same run, 4 in flight): ${rate.toFixed(0)}/s`);
} finally {
  await db.end();
  await stack.stop();
  await pg.stop();
  rmSync(pgDir, { recursive: true, force: true });
}
