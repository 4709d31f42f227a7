import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnParser } from '@peculiar/asn1-schema';
import { SubjectKeyIdentifier } from '@peculiar/asn1-x509';
import { findExtension, parseCertificate } from '../certificate.ts';
import { OIDS } from '../oids.ts';
import { SmCryptoSigner } from './sm-crypto-signer.ts';

const DIST_ID = 'distid:1234567812345678';

export interface TestCa {
  dir: string;
  caPem: string;
  certDer: Buffer;
  /** DER of the subject Name. */
  subjectDer: Buffer;
  spkiDer: Buffer;
  subjectKeyIdentifier: Buffer;
  signer: SmCryptoSigner;
  /** Signs under the empty ID, which is what OpenSSL 3.0 verifies CRLs and OCSP responses with. */
  emptyIdSigner: SmCryptoSigner;
  /** Removes the temporary directory. */
  dispose(): void;
  /** Issues a leaf certificate with `serialHex`; returns its PEM path. */
  issueLeaf(serialHex: string): string;
}

export function openssl(args: string[], cwd: string): Buffer {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** Runs openssl and returns stdout and stderr whatever the exit status: some results are only reported there. */
export function opensslOutput(args: string[], cwd: string): string {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  return run.stdout + run.stderr;
}

/** A self-signed SM2 CA made with the OpenSSL CLI, signed under the GM default ID. */
export function createTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'pki-ca-'));
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', 'ca.key'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-sm3',
      '-sigopt',
      DIST_ID,
      '-subj',
      '/CN=Test CA/C=CN',
      '-days',
      '365',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  const certDer = openssl(['x509', '-in', 'ca.pem', '-outform', 'DER'], dir);
  const cert = parseCertificate(certDer);
  const skiExtension = findExtension(cert, OIDS.subjectKeyIdentifier);
  if (!skiExtension) throw new Error('test CA has no subjectKeyIdentifier');
  const ski = AsnParser.parse(skiExtension.value, SubjectKeyIdentifier);
  const { privateKeyHex, publicKeyHex } = keyHex(
    openssl(['pkey', '-in', 'ca.key', '-noout', '-text'], dir).toString(),
  );
  return {
    dir,
    caPem: join(dir, 'ca.pem'),
    certDer,
    subjectDer: Buffer.from(cert.subject),
    spkiDer: Buffer.from(cert.spki),
    subjectKeyIdentifier: Buffer.from(ski.buffer),
    signer: new SmCryptoSigner(privateKeyHex, publicKeyHex),
    emptyIdSigner: new SmCryptoSigner(privateKeyHex, publicKeyHex, ''),
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
    issueLeaf(serialHex) {
      const name = `leaf-${serialHex}`;
      openssl(
        ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', `${name}.key`],
        dir,
      );
      openssl(
        [
          'req',
          '-new',
          '-key',
          `${name}.key`,
          '-sm3',
          '-sigopt',
          DIST_ID,
          '-subj',
          `/CN=${name}`,
          '-out',
          `${name}.csr`,
        ],
        dir,
      );
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-sm3',
          '-sigopt',
          DIST_ID,
          '-vfyopt',
          DIST_ID,
          '-set_serial',
          `0x${serialHex}`,
          '-days',
          '30',
          '-out',
          `${name}.pem`,
        ],
        dir,
      );
      return join(dir, `${name}.pem`);
    },
  };
}

function keyHex(text: string): { privateKeyHex: string; publicKeyHex: string } {
  const block = (label: string) => {
    const match = new RegExp(`${label}:\\n((?:\\s+[0-9a-f:]+\\n)+)`).exec(text);
    if (!match?.[1]) throw new Error(`no ${label} in openssl pkey output`);
    return match[1].replace(/[\s:]/g, '');
  };
  const priv = block('priv');
  return {
    privateKeyHex: priv.length > 64 ? priv.slice(-64) : priv.padStart(64, '0'),
    publicKeyHex: block('pub'),
  };
}
