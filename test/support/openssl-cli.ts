import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The OpenSSL 3 CLI as a third-party GM tool, the independent implementation we check interop
 * against: stdout as bytes, throws with its stderr on failure.
 */
export function openssl(args: string[], cwd?: string, input?: Uint8Array): Buffer {
  return execFileSync('openssl', args, { cwd, input, stdio: 'pipe', maxBuffer: 64 << 20 });
}

/** Runs openssl and returns stdout and stderr whatever the exit status: some results are only reported there. */
export function opensslOutput(args: string[], cwd: string): string {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  return run.stdout + run.stderr;
}

/** The GM/T 0009 default signer ID, which OpenSSL 3.0 only uses when told. */
export const gmDistId = 'distid:1234567812345678';

export function tempDir(prefix = 'sm2ca-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

export interface OpensslSm2Key {
  /** PEM private key file. */
  keyPath: string;
  privateKeyHex: string;
  /** 65 bytes, 04‖X‖Y. */
  publicKey: Uint8Array;
  /** SPKI DER as OpenSSL writes it. */
  spki: Uint8Array;
}

/** Writes a fresh EC private key to `dir/file` (PEM); answers its path. */
export function opensslEcKeyFile(dir: string, file: string, curve: 'SM2' | 'P-256' = 'SM2'): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', file], dir);
  return join(dir, file);
}

/** A fresh SM2 key made by OpenSSL, with the scalar and point it printed for it. */
export function opensslSm2Key(dir: string, file = 'key.pem'): OpensslSm2Key {
  const keyPath = opensslEcKeyFile(dir, file);
  const text = openssl(['pkey', '-in', keyPath, '-text', '-noout']).toString();
  const field = (label: string) => {
    const match = new RegExp(`${label}:\\n((?:\\s+[0-9a-f:]+\\n)+)`).exec(text);
    if (!match?.[1]) throw new Error(`no ${label} in openssl pkey output`);
    return match[1].replace(/[\s:]/g, '');
  };
  const priv = field('priv');
  return {
    keyPath,
    // OpenSSL prints the scalar as a DER INTEGER: a leading 00 when the top bit is set, short when it is small.
    privateKeyHex: priv.length > 64 ? priv.slice(-64) : priv.padStart(64, '0'),
    publicKey: new Uint8Array(Buffer.from(field('pub'), 'hex')),
    spki: new Uint8Array(openssl(['pkey', '-in', keyPath, '-pubout', '-outform', 'DER'])),
  };
}

/**
 * Whether `openssl dgst` accepts an SM2-with-SM3 signature under the GM default ID; the files
 * are named relative to `dir`. A rejected signature throws with OpenSSL's own report.
 */
export function opensslVerifiesSm2Signature(
  dir: string,
  pubPem: string,
  sigFile: string,
  msgFile: string,
): boolean {
  const args = ['dgst', '-sm3', '-sigopt', gmDistId, '-verify', pubPem, '-signature', sigFile, msgFile];
  return openssl(args, dir).toString().includes('Verified OK');
}

/** A holder's own SM2 key and its PKCS#10 request under the GM default ID, made entirely by OpenSSL; PEM. */
export function opensslHolderCsr(cwd: string, name: string, subject: string): string {
  opensslEcKeyFile(cwd, `${name}.key`);
  const sign = ['-sm3', '-sigopt', gmDistId];
  openssl(['req', '-new', '-key', `${name}.key`, ...sign, '-subj', subject, '-out', `${name}.csr`], cwd);
  return openssl(['req', '-in', `${name}.csr`, '-outform', 'PEM'], cwd).toString();
}
