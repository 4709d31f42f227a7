/**
 * Builds a 1,000,000-entry CRL and prints build time, peak RSS (of the build) and the time OpenSSL
 * and our own parser take to read it back.
 * Goal: <= 10 s and <= 256 MB on the 2-core build machine. Prints figures, never asserts.
 * Run: npx tsx bench/crl-build.ts [entries]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCrl } from '../packages/pki/src/crl-builder.ts';
import type { CrlEntry } from '../packages/pki/src/crl-entry-writer.ts';
import { parseCrl } from '../packages/pki/src/crl-parse.ts';
import { CrlReason } from '../packages/pki/src/crl-reason.ts';
import type { Signer } from '../packages/pki/src/signer.ts';

const count = Number(process.argv[2] ?? 1_000_000);

// The one real signature is not what this measures; a fixed DER { r, s } stands in for it.
const dummySigner: Signer = {
  async sign() {
    return Buffer.concat([
      Buffer.from('3044022000', 'hex'),
      Buffer.alloc(31, 1),
      Buffer.from('022000', 'hex'),
      Buffer.alloc(31, 2),
    ]);
  },
};

// Subject "CN=Bench CA, C=CN" and a 20-byte key identifier.
const issuerName = Buffer.from('30203111300f06035504030c0842656e6368204341310b300906035504061302434e', 'hex');

const reasons: (CrlReason | undefined)[] = [
  undefined,
  CrlReason.keyCompromise,
  CrlReason.superseded,
  CrlReason.cessationOfOperation,
  CrlReason.certificateHold,
];

async function* entries(now: number): AsyncGenerator<CrlEntry> {
  const serial = Buffer.alloc(16);
  for (let i = 0; i < count; i++) {
    // 16-byte serials like the CA issues (>= 64 random bits), distinct per entry.
    serial.writeUInt32BE(0x40000000 + i, 0);
    serial.writeUInt32BE(Math.imul(i, 2654435761) >>> 0, 4);
    serial.writeUInt32BE(i, 12);
    yield {
      serial: Uint8Array.from(serial),
      revocationDate: new Date(now - i * 1000),
      reason: reasons[i % reasons.length]!,
      ...(i % 10 === 0 ? { invalidityDate: new Date(now - i * 1000 - 86_400_000) } : {}),
    };
  }
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

const now = Date.UTC(2026, 10, 21, 8, 0, 0);
const baselineRss = peakRssMb();
const started = performance.now();
const der = await buildCrl(
  {
    issuerName,
    authorityKeyIdentifier: Buffer.alloc(20, 0xab),
    crlNumber: 1000n,
    thisUpdate: new Date(now),
    nextUpdate: new Date(now + 86_400_000),
  },
  entries(now),
  dummySigner,
);
const buildSeconds = (performance.now() - started) / 1000;
const rss = peakRssMb();

const parseStarted = performance.now();
let parsedEntries = 0;
for (const _ of parseCrl(der).entries()) parsedEntries++;
const parseSeconds = (performance.now() - parseStarted) / 1000;

const dir = mkdtempSync(join(tmpdir(), 'crl-bench-'));
const file = join(dir, 'bench.crl');
writeFileSync(file, der);
const opensslStarted = performance.now();
execFileSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout'], { stdio: 'inherit' });
const opensslSeconds = (performance.now() - opensslStarted) / 1000;
rmSync(dir, { recursive: true, force: true });

console.log(`entries:             ${count}`);
console.log(`CRL size:            ${(der.length / 1e6).toFixed(1)} MB`);
console.log(`build (no signing):  ${buildSeconds.toFixed(2)} s   (goal <= 10 s)`);
console.log(
  `peak RSS:            ${rss.toFixed(0)} MB   (goal <= 256 MB; ${baselineRss.toFixed(0)} MB before building)`,
);
console.log(`openssl crl parse:   ${opensslSeconds.toFixed(2)} s`);
console.log(`parseCrl + entries:  ${parseSeconds.toFixed(2)} s   (${parsedEntries} entries)`);
