/**
 * Revocation latency as relying parties see it, over 1,000 revocations made through the RA
 * (entry clerk + reviewer; the RA instructs the CA), with every service its own process:
 * - revoke → OCSP answers revoked (polled from outside with GET requests, as a client would);
 * - revoke → the serial is on a published CRL (as the CRL service records it for the 24-hour rule).
 * Goals: p99 <= 1 s and <= 60 s. Prints figures, never asserts.
 * Run: npx tsx bench/revocation.ts [revocations] [concurrency]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSm2Spki } from '@sm2ca/gm';
import {
  buildCsr,
  buildOcspCertId,
  buildOcspRequest,
  ocspGetPath,
  parseCertificate,
  parseOcspResponse,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import { loadConfig, openConfiguredDevice } from '@sm2ca/platform';
import { startEmbeddedPostgres } from '@sm2ca/store';
import { freePort } from '../test/support/free-port.ts';
import { raOperators } from '../test/support/ra-client.ts';
import { startStack } from '../test/support/sm2ca-stack.ts';

const total = Number(process.argv[2] ?? 1000);
const concurrency = Number(process.argv[3] ?? 8);

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
};
const pool = async (n: number, work: (i: number) => Promise<void>) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await work(next++);
    }),
  );
};

const pgDir = mkdtempSync(join(tmpdir(), 'bench-revocation-pg-'));
const pg = await startEmbeddedPostgres({
  dir: pgDir,
  port: await freePort(),
});
const stack = await startStack(pg.url);
try {
  const operators = await raOperators(stack);
  const device = await openConfiguredDevice(loadConfig(stack.env));
  process.stderr.write(`issuing ${total} certificates…\n`);
  const issued: { issuerId: string; serial: string }[] = [];
  await pool(total, async (i) => {
    const label = `revocation-holder-${i}`;
    const publicKey = decodeSm2Spki(await device.generateKeyPair({ label, token: false }));
    const csr = await buildCsr({ subject: [{ type: 'CN', value: label }], publicKey }, device.signer(label));
    issued.push(
      await operators.issue(
        Buffer.from(csr).toString('base64'),
        { commonName: label, organization: 'Bench' },
        'device-sign',
        'device',
      ),
    );
  });
  await device.close();

  const issuerDer = Buffer.from(await (await fetch(`${stack.url.crl}/ca/sub.cer`)).arrayBuffer());
  const issuerCert = parseCertificate(issuerDer);
  const issuer = { subjectDer: issuerCert.subject, publicKey: publicKeyOfSpki(issuerCert.spki) };
  const ocspRevoked = async (serial: string) => {
    const request = buildOcspRequest([buildOcspCertId(issuer, BigInt(`0x${serial}`)).der]);
    const res = await fetch(`${stack.url.ocsp}/ocsp/${ocspGetPath(request)}`);
    const answer = parseOcspResponse(Buffer.from(await res.arrayBuffer()));
    return answer.status === 'successful' && answer.basic.responses[0]!.certStatus.status === 'revoked';
  };

  process.stderr.write(`revoking ${total} certificates, ${concurrency} at a time…\n`);
  const toOcsp: number[] = [];
  const started = performance.now();
  await pool(issued.length, async (i) => {
    const { issuerId, serial } = issued[i]!;
    await operators.revoke(issuerId, serial, i % 10 === 0 ? 'certificateHold' : 'keyCompromise');
    // The RA answers once the CA has committed the revocation: from here on a relying party may ask.
    const done = performance.now();
    while (!(await ocspRevoked(serial))) await new Promise((r) => setTimeout(r, 10));
    toOcsp.push(performance.now() - done);
  });
  const revokeSeconds = (performance.now() - started) / 1000;

  process.stderr.write('waiting for every revocation to be on a published CRL…\n');
  const toCrl: number[] = [];
  for (const { issuerId, serial } of issued) {
    for (;;) {
      const record = (await (
        await fetch(`${stack.url.crl}/v1/revocations/${issuerId}/${serial}/publication`)
      ).json()) as {
        revocations?: { firstCrl?: { delaySeconds: number } }[];
      };
      const delay = record.revocations?.[0]?.firstCrl?.delaySeconds;
      if (typeof delay === 'number') {
        toCrl.push(delay * 1000);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const stats = await (await fetch(`${stack.url.crl}/v1/stats`)).json();

  const ms = (v: number) => `${v.toFixed(0)} ms`;
  console.log(
    `${total} revocations through the RA in ${revokeSeconds.toFixed(1)} s (${concurrency} at a time; 10% suspensions)`,
  );
  console.log(
    `revoke → OCSP revoked:   p50 ${ms(pct(toOcsp, 0.5))}, p99 ${ms(pct(toOcsp, 0.99))}, max ${ms(Math.max(...toOcsp))}   (goal p99 <= 1 s)`,
  );
  console.log(
    `revoke → on a CRL:       p50 ${ms(pct(toCrl, 0.5))}, p99 ${ms(pct(toCrl, 0.99))}, max ${ms(Math.max(...toCrl))}   (goal p99 <= 60 s)`,
  );
  console.log(`CRL service's own figures: ${JSON.stringify(stats)}`);
} finally {
  await stack.stop();
  await pg.stop();
  rmSync(pgDir, { recursive: true, force: true });
}
