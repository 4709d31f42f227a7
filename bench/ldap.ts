/**
 * The directory service: publication into a real slapd beside the issuance rate of the same run,
 * and certificate lookups by subject in a directory of `population` holder entries.
 *  1. slapadd loads the background population (holders with a certificate each) into slapd.
 *  2. `issued` consenting applications are issued by 16 concurrent certificate makers (RA, CA
 *     and CRL processes as `sm2ca start` runs them) while the publisher writes them: issuance
 *     rate, publication lag (state change → in the directory) and whether the queue drained.
 *  3. slapd is stopped, `issued` more are issued (the outbox fills), slapd is started: the
 *     drain rate is the publisher's own throughput (certificates/s into slapd).
 *  4. `lookups` random holders are looked up by subject over one connection (as a relying
 *     party would: base-scope read of the entry, and a subtree search by cn).
 * Goals: publication keeps up with issuance; lookup p99 <= 10 ms. Prints figures, never asserts.
 * Run: npx tsx bench/ldap.ts [population=100000] [issued=500] [lookups=5000]
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSm2Spki } from '@sm2ca/gm';
import { buildCsr } from '@sm2ca/pki';
import { loadConfig, openConfiguredDevice } from '@sm2ca/platform';
import { connectPool, startEmbeddedPostgres } from '@sm2ca/store';
import { Client } from 'ldapts';
import { freePort } from '../test/support/free-port.ts';
import { startTestDirectory } from '../test/support/slapd.ts';
import { startStack } from '../test/support/sm2ca-stack.ts';

const population = Number(process.argv[2] ?? 100_000);
const issuedPerPhase = Number(process.argv[3] ?? 500);
const lookups = Number(process.argv[4] ?? 5000);
const ORGS = 100;

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
};
const log = (message: string) => process.stderr.write(`${message}\n`);

const work = mkdtempSync(join(tmpdir(), 'bench-ldap-'));
const ldap = await startTestDirectory();
const pg = await startEmbeddedPostgres({ dir: join(work, 'pg'), port: await freePort() });
const stack = await startStack(
  pg.url,
  { ...ldap.env, SM2CA_DB_POOL_SIZE: '20', SM2CA_LDAP_RETRY_MAX_SECONDS: '1' },
  ['ca', 'ra', 'crl'],
);
const pool = await connectPool(pg.url);
try {
  // 1. The background population, straight into the database files while slapd is down.
  log(`loading ${population} holder entries with slapadd…`);
  const sampleCertificate = (await pool.query("SELECT certificate FROM issuers WHERE id = 'sub'")).rows[0]
    .certificate as Buffer;
  const ldif = join(work, 'population.ldif');
  const out = createWriteStream(ldif);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const cert = sampleCertificate.toString('base64');
  for (let o = 0; o < ORGS; o++) {
    await write(`dn: o=Org ${o},c=CN\nobjectClass: organization\no: Org ${o}\n\n`);
  }
  for (let i = 0; i < population; i++) {
    const cn = `holder-${i}`;
    await write(
      `dn: cn=${cn},o=Org ${i % ORGS},c=CN\nobjectClass: person\nobjectClass: pkiUser\ncn: ${cn}\nsn: ${cn}\nuserCertificate;binary:: ${cert}\n\n`,
    );
  }
  out.end();
  await once(out, 'finish');
  await ldap.stop();
  const loadStart = performance.now();
  // The publisher made c=CN and the CA entries already; slapadd adds the rest beside them.
  execFileSync('slapadd', ['-q', '-f', join(ldap.dir, 'slapd.conf'), '-l', ldif], { stdio: 'inherit' });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  await ldap.start();

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
  const device = await openConfiguredDevice(loadConfig(stack.env));
  let holders = 0;
  const approved = async (count: number) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const label = `bench-pub-${holders++}`;
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
        publishConsent: true,
      });
      await call(reviewer, `/v1/applications/${id}/review`, { decision: 'approve' });
      ids.push(id);
    }
    return ids;
  };
  const issueAll = async (ids: string[]) => {
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < ids.length) await call(maker, `/v1/applications/${ids[next++]!}/issue`);
      }),
    );
    return ids.length / ((performance.now() - start) / 1000);
  };
  const drained = async () => {
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline) {
      const { rows } = await pool.query(
        'SELECT count(*)::int AS n FROM directory_outbox WHERE published_at IS NULL',
      );
      if (rows[0].n === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the outbox did not drain within 10 min');
  };
  const phase = async (sinceId: string) => {
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n,
              extract(epoch FROM max(published_at) - min(published_at))::float8 AS span,
              array_agg(extract(epoch FROM published_at - enqueued_at)::float8 * 1000) AS lags
         FROM directory_outbox WHERE kind = 'certificate' AND id > $1`,
      [sinceId],
    );
    return rows[0] as { n: number; span: number; lags: number[] };
  };
  const lastId = async () =>
    (await pool.query('SELECT coalesce(max(id), 0)::text AS id FROM directory_outbox')).rows[0].id as string;

  // 2. Issuance with the publisher keeping up.
  log(`phase 1: preparing and issuing ${issuedPerPhase} consenting applications…`);
  let ids = await approved(issuedPerPhase);
  let mark = await lastId();
  const issueRate = await issueAll(ids);
  await drained();
  const live = await phase(mark);

  // 3. A backlog written while slapd was down, drained once it is back.
  log(`phase 2: ${issuedPerPhase} more issued with slapd stopped, then the backlog drained…`);
  ids = await approved(issuedPerPhase);
  await ldap.stop();
  mark = await lastId();
  await issueAll(ids);
  await ldap.start();
  await drained();
  const backlog = await phase(mark);
  await device.close();

  // 4. Lookups by subject.
  log(`looking up ${lookups} random holders…`);
  const client = new Client({ url: ldap.url, strictDN: false });
  const byDn: number[] = [];
  const byCn: number[] = [];
  // The first lookups warm the connection and slapd's caches; they are not counted.
  const warmUp = Math.min(500, Math.floor(lookups / 10));
  for (let i = -warmUp; i < lookups; i++) {
    const n = Math.floor(Math.random() * population);
    let t = performance.now();
    const read = await client.search(`cn=holder-${n},o=Org ${n % ORGS},c=CN`, {
      scope: 'base',
      attributes: ['userCertificate;binary'],
      explicitBufferAttributes: ['userCertificate;binary'],
    });
    if (i >= 0) byDn.push(performance.now() - t);
    t = performance.now();
    const found = await client.search('c=CN', {
      scope: 'sub',
      filter: `(cn=holder-${n})`,
      attributes: ['userCertificate;binary'],
      explicitBufferAttributes: ['userCertificate;binary'],
    });
    if (i >= 0) byCn.push(performance.now() - t);
    if (read.searchEntries.length !== 1 || found.searchEntries.length !== 1)
      throw new Error(`holder-${n} not found`);
  }
  await client.unbind();
  const entries = population + live.n + backlog.n;

  console.log(`machine: ${cpus().length} cores; slapd (OpenLDAP mdb) on loopback`);
  console.log(
    `background population: ${population} holder entries loaded by slapadd in ${loadSeconds.toFixed(1)} s`,
  );
  console.log(
    `phase 1, publishing while issuing: issuance ${issueRate.toFixed(0)} certificates/s (16 makers); ` +
      `${live.n} published, lag state change → directory p50 ${pct(live.lags, 0.5).toFixed(0)} ms, p99 ${pct(live.lags, 0.99).toFixed(0)} ms; queue drained`,
  );
  console.log(
    `phase 2, backlog after an outage: ${backlog.n} certificates published in ${backlog.span.toFixed(2)} s = ` +
      `${((backlog.n - 1) / backlog.span).toFixed(0)} certificates/s into slapd (publisher throughput)`,
  );
  console.log(`lookups with ${entries} holder entries in the directory (${lookups} each, one connection):`);
  console.log(
    `  by subject DN (base read): p50 ${pct(byDn, 0.5).toFixed(2)} ms, p99 ${pct(byDn, 0.99).toFixed(2)} ms`,
  );
  console.log(
    `  by cn (subtree search):    p50 ${pct(byCn, 0.5).toFixed(2)} ms, p99 ${pct(byCn, 0.99).toFixed(2)} ms`,
  );
  console.log('goals: publication >= issuance rate; lookup p99 <= 10 ms');
} finally {
  await pool.end();
  await stack.stop();
  await pg.stop();
  await ldap.remove();
  rmSync(work, { recursive: true, force: true });
}
