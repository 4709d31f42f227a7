import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Test-only driver for the OpenSSL 3 CLI, the independent implementation we check interop against. */
export function openssl(args: string[], input?: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }));
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sm2ca-test-'));
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

export function opensslSm2Key(dir: string, name = 'key'): OpensslSm2Key {
  const keyPath = join(dir, `${name}.pem`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', keyPath]);
  const text = new TextDecoder().decode(openssl(['pkey', '-in', keyPath, '-text', '-noout']));
  const field = (label: string) =>
    (new RegExp(`${label}:\\n((?:\\s+[0-9a-f:]+\\n)+)`).exec(text)?.[1] ?? '').replace(/[\s:]/g, '');
  const spki = openssl(['pkey', '-in', keyPath, '-pubout', '-outform', 'DER']);
  const priv = field('priv');
  return {
    keyPath,
    privateKeyHex: priv.length > 64 ? priv.slice(-64) : priv.padStart(64, '0'),
    publicKey: new Uint8Array(Buffer.from(field('pub'), 'hex')),
    spki,
  };
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
