/**
 * What hostile OCSP traffic costs the responder in memory, measured on the responder process as
 * production runs it (`sm2ca start`, its own process): its resident set before and after
 * - 400 unique POSTs of about 62 KB, each a request for ~2,000 CertIDs (the probe that once grew
 *   the responder from 115 MB to 568 MB: parsed and remembered before the CertID limit applied);
 * - 3 × 20,000 unique requests of the largest size allowed (20 CertIDs, unknown serials), each parsed
 *   and remembered by the request memo, whose bound is 16 MiB: the figure must level off;
 * - 2,000 nonce requests from one client, past its live-signing share (answered tryLater).
 * Goal: the resident set stays within ~64 MB of its start whatever comes. Prints figures, never asserts.
 * Run: npx tsx bench/ocsp-memory.ts
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOcspCertId, buildOcspRequest, parseCertificate, publicKeyOfSpki } from '@sm2ca/pki';
import { startEmbeddedPostgres } from '@sm2ca/store';
import { freePort } from '../test/support/free-port.ts';
import { startStack } from '../test/support/sm2ca-stack.ts';

const CONCURRENCY = 16;

/** The pid listening on `port` (ss from iproute2). */
function listenerPid(port: number): number {
  const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
  const pid = /pid=(\d+)/.exec(out)?.[1];
  if (!pid) throw new Error(`nothing listens on ${port}`);
  return Number(pid);
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function inParallel(n: number, send: (i: number) => Promise<number>): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const status = await send(next++);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  return statuses;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-ocsp-memory-'));
const pg = await startEmbeddedPostgres({ dir, port: await freePort() });
const stack = await startStack(pg.url, {}, ['ocsp', 'crl']);
try {
  const ocspUrl = `${stack.url.ocsp}/ocsp`;
  const pid = listenerPid(Number(new URL(stack.url.ocsp).port));
  const issuerCert = parseCertificate(
    Buffer.from(await (await fetch(`${stack.url.crl}/ca/sub.cer`)).arrayBuffer()),
  );
  const issuer = { subjectDer: issuerCert.subject, publicKey: publicKeyOfSpki(issuerCert.spki) };
  const certIds = (n: number) =>
    Array.from(
      { length: n },
      () => buildOcspCertId(issuer, BigInt(`0x7${randomBytes(15).toString('hex')}`)).der,
    );
  const post = (body: Buffer) =>
    fetch(ocspUrl, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body }).then(
      async (res) => {
        await res.arrayBuffer();
        return res.status;
      },
    );

  const start = rssMb(pid);
  console.log(`responder pid ${pid}: ${start.toFixed(0)} MB resident at start`);
  const step = async (what: string, n: number, body: (i: number) => Buffer) => {
    const before = rssMb(pid);
    const statuses = await inParallel(n, (i) => post(body(i)));
    const after = rssMb(pid);
    const byStatus = [...statuses].map(([s, c]) => `${c}× ${s}`).join(', ');
    console.log(
      `${what}: ${n} requests (${byStatus}); resident ${before.toFixed(0)} → ${after.toFixed(0)} MB (${(after - start).toFixed(0)} MB over start)`,
    );
  };
  const largeKb = (buildOcspRequest(certIds(830)).length / 1024).toFixed(0);
  await step(`unique ${largeKb} KB requests`, 400, () => buildOcspRequest(certIds(830)));
  // Three rounds: a bounded memo levels off; a leak keeps climbing.
  for (const round of [1, 2, 3]) {
    await step(`unique 20-CertID requests, round ${round}`, 20_000, () => buildOcspRequest(certIds(20)));
  }
  await step('nonce requests from one client', 2_000, () => buildOcspRequest(certIds(1), randomBytes(16)));
} finally {
  await stack.stop();
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
