/**
 * Builds a 1,000,000-entry CRL the way the CRL publisher does: the revoked certificates in
 * PostgreSQL (embedded, loaded by one INSERT … SELECT generate_series — server-side, faster than
 * COPY and needing no client stream), read through the publisher's cursor (crl-entries.ts),
 * encoded by our DER writer and signed in the device (hsm-sim) by publishCrl itself, archived
 * and recorded with its delta in one transaction; then the next full CRL, which finds every
 * entry already recorded, as each scheduled one does. Prints the publications' times, this whole
 * process's peak RSS (VmHWM: everything, not only the build), and the time OpenSSL and our own
 * parser take to read the CRL back.
 * Goal: <= 10 s and <= 256 MB on the 2-core build machine. Prints figures, never asserts.
 * Run: npx tsx bench/crl-build.ts [entries]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCrl } from '../packages/pki/src/crl-parse.ts';
import { loadConfig } from '../packages/platform/src/config.ts';
import { openConfiguredDevice } from '../packages/platform/src/crypto-device.ts';
import { openDatabase } from '../packages/platform/src/database.ts';
import { createLogger } from '../packages/platform/src/logger.ts';
import { runKeyCeremony } from '../services/ca/src/key-ceremony.ts';
import { loadCaIssuers } from '../services/crl/src/ca-issuers.ts';
import { publishCrl } from '../services/crl/src/crl-publisher.ts';
import { freePort } from '../test/support/free-port.ts';
import { opensslVerifiesSm2Signature } from '../test/support/openssl-cli.ts';

const count = Number(process.argv[2] ?? 1_000_000);

/** Peak resident set of this process since it started, in MB. */
function peakRssMb(): number {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return Number(line![1]) / 1024;
}

// 32-hex-digit serials like the CA's (md5 of the index: distinct, spread like random ones);
// every fifth a suspension, every tenth with an invalidity date, the reasons the CA stores.
// Inserted in serial order so the indexes on serial fill at their right edge.
const LOAD_SQL = `
  INSERT INTO certificates (issuer_id, serial, status, profile, subject, tbs, der, not_before, not_after,
                            request_id, issued_at, revoked_at, revocation_reason, invalidity_date)
  SELECT 'sub', md5(i::text), CASE WHEN i % 5 = 0 THEN 'hold' ELSE 'revoked' END, 'person-sign',
         'CN=bench ' || i, '\\x00', '\\x00', now() - interval '1 year', now() + interval '1 year',
         'bench-' || i, now() - interval '1 year', now() - i * interval '1 second',
         (ARRAY[NULL, 'keyCompromise', 'superseded', 'cessationOfOperation'])[1 + i % 4],
         CASE WHEN i % 10 = 0 THEN now() - interval '1 day' - i * interval '1 second' END
    FROM generate_series(1, $1::int) AS i
   ORDER BY md5(i::text)`;

const home = mkdtempSync(join(tmpdir(), 'bench-crl-'));
const config = loadConfig({ SM2CA_HOME: home, SM2CA_PG_PORT: String(await freePort()), LOG_LEVEL: 'warn' });
const log = createLogger('bench', { level: 'warn' });
const db = await openDatabase(config, log);
try {
  const device = await openConfiguredDevice(config, { createToken: true });
  try {
    await runKeyCeremony(db.pool, device, config);
    const loadStarted = performance.now();
    await db.pool.query(LOAD_SQL, [count]);
    await db.pool.query('ANALYZE certificates');
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const issuer = (await loadCaIssuers(db.pool)).get('sub')!;
    const rssBefore = peakRssMb();

    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const [full] = await publishCrl(
      { pool: db.pool, config, signer: (label) => device.signer(label), publisherId: 'bench' },
      issuer,
      'full',
    );
    const publishSeconds = (performance.now() - started) / 1000;
    const { user, system } = process.cpuUsage(cpuBefore);
    // The next full CRL, as every scheduled one after the first: all entries already recorded,
    // and analysed, as autovacuum does minutes after a million new rows.
    await db.pool.query('ANALYZE crl_revocations');
    const againStarted = performance.now();
    await publishCrl(
      { pool: db.pool, config, signer: (label) => device.signer(label), publisherId: 'bench' },
      issuer,
      'full',
    );
    const againSeconds = (performance.now() - againStarted) / 1000;
    const rss = peakRssMb();

    const { rows } = await db.pool.query('SELECT der FROM crls WHERE issuer_id = $1 AND crl_number = $2', [
      'sub',
      String(full!.number),
    ]);
    const der: Buffer = rows[0].der;
    const parseStarted = performance.now();
    let parsedEntries = 0;
    const parsed = parseCrl(der);
    for (const _ of parsed.entries()) parsedEntries++;
    const parseSeconds = (performance.now() - parseStarted) / 1000;
    const file = join(home, 'bench.crl');
    writeFileSync(file, der);
    const opensslStarted = performance.now();
    execFileSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout'], { stdio: 'inherit' });
    const opensslSeconds = (performance.now() - opensslStarted) / 1000;
    writeFileSync(join(home, 'tbs.bin'), parsed.tbsCertList);
    writeFileSync(join(home, 'sig.bin'), parsed.signature);
    const spki = Buffer.from(issuer.spki).toString('base64');
    writeFileSync(join(home, 'ca.pub'), `-----BEGIN PUBLIC KEY-----\n${spki}\n-----END PUBLIC KEY-----\n`);
    const verified = opensslVerifiesSm2Signature(home, 'ca.pub', 'sig.bin', 'tbs.bin');

    console.log(`entries:               ${full!.entryCount} (loaded in ${loadSeconds.toFixed(1)} s)`);
    console.log(`CRL size:              ${(der.length / 1e6).toFixed(1)} MB`);
    console.log(`publishCrl (first):    ${publishSeconds.toFixed(2)} s   (goal <= 10 s; read, encode, sign,`);
    console.log('                       archive, record contents, and the empty delta; the first CRL,');
    console.log('                       which records every revocation as first carried by it)');
    console.log(
      `  of which this process: ${((user + system) / 1e6).toFixed(2)} s CPU (the rest: PostgreSQL, device, waiting)`,
    );
    console.log(
      `publishCrl (next full): ${againSeconds.toFixed(2)} s   (the same with every entry already recorded)`,
    );
    console.log(
      `peak RSS (VmHWM):      ${rss.toFixed(0)} MB   (goal <= 256 MB; ${rssBefore.toFixed(0)} MB before publishing)`,
    );
    console.log(`openssl crl parse:     ${opensslSeconds.toFixed(2)} s`);
    console.log(
      `OpenSSL signature:     ${verified ? 'Verified OK' : 'FAILED'} (SM2, distid 1234567812345678)`,
    );
    console.log(`parseCrl + entries:    ${parseSeconds.toFixed(2)} s   (${parsedEntries} entries)`);
    console.log(
      `load average:          ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
    );
  } finally {
    await device.close();
  }
} finally {
  await db.close();
  rmSync(home, { recursive: true, force: true });
}
