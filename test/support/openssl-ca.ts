import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnParser } from '@peculiar/asn1-schema';
import { SubjectKeyIdentifier } from '@peculiar/asn1-x509';
import { findExtension, OIDS, parseCertificate } from '@sm2ca/pki';
import {
  gmDistId,
  openssl,
  opensslEcKeyFile,
  opensslHolderCsr,
  opensslSm2Key,
  tempDir,
} from './openssl-cli.ts';
import { SmCryptoSigner } from './sm-crypto-signer.ts';

const gmSign = ['-sm3', '-sigopt', gmDistId];

function opensslSelfSigned(dir: string, key: string, subject: string, days: number, out: string): void {
  openssl(
    ['req', '-x509', '-new', '-key', key, ...gmSign, '-subj', subject, '-days', String(days), '-out', out],
    dir,
  );
}

interface Issuer {
  /** The CA certificate file, PEM. */
  cert: string;
  key: string;
}

/** OpenSSL as the CA: signs the request `csr` under the GM default ID into `out`. */
function opensslSignCsr(
  dir: string,
  issuer: Issuer,
  csr: string,
  out: string,
  { serial, days, extra = [] }: { serial: string; days: number; extra?: string[] },
): void {
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      issuer.cert,
      '-CAkey',
      issuer.key,
      ...gmSign,
      '-vfyopt',
      gmDistId,
      '-set_serial',
      serial,
      '-days',
      String(days),
      ...extra,
      '-out',
      out,
    ],
    dir,
  );
}

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

/** A self-signed SM2 CA made with the OpenSSL CLI, signed under the GM default ID. */
export function createTestCa(): TestCa {
  const dir = tempDir('pki-ca-');
  const ca: Issuer = { cert: 'ca.pem', key: 'ca.key' };
  const key = opensslSm2Key(dir, ca.key);
  opensslSelfSigned(dir, ca.key, '/CN=Test CA/C=CN', 365, ca.cert);
  const certDer = openssl(['x509', '-in', ca.cert, '-outform', 'DER'], dir);
  const cert = parseCertificate(certDer);
  const skiExtension = findExtension(cert, OIDS.subjectKeyIdentifier);
  if (!skiExtension) throw new Error('test CA has no subjectKeyIdentifier');
  const ski = AsnParser.parse(skiExtension.value, SubjectKeyIdentifier);
  const publicKeyHex = Buffer.from(key.publicKey).toString('hex');
  return {
    dir,
    caPem: join(dir, ca.cert),
    certDer,
    subjectDer: Buffer.from(cert.subject),
    spkiDer: Buffer.from(cert.spki),
    subjectKeyIdentifier: Buffer.from(ski.buffer),
    signer: new SmCryptoSigner(key.privateKeyHex, publicKeyHex),
    emptyIdSigner: new SmCryptoSigner(key.privateKeyHex, publicKeyHex, ''),
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
    issueLeaf(serialHex) {
      const name = `leaf-${serialHex}`;
      opensslHolderCsr(dir, name, `/CN=${name}`);
      opensslSignCsr(dir, ca, `${name}.csr`, `${name}.pem`, { serial: `0x${serialHex}`, days: 30 });
      return join(dir, `${name}.pem`);
    },
  };
}

/**
 * A root and an issuing CA made with the OpenSSL CLI (an implementation
 * independent of ours), and holder CSRs signed under the GM default ID.
 */
export class OpensslHierarchy {
  readonly dir = tempDir('ra-test-ca-');
  readonly root: Buffer;
  readonly issuing: Buffer;
  readonly #issuing: Issuer = { cert: 'sub.pem', key: 'sub.key' };
  #n = 0;

  constructor() {
    const root: Issuer = { cert: 'root.pem', key: 'root.key' };
    opensslEcKeyFile(this.dir, root.key);
    writeFileSync(
      join(this.dir, 'ext.cnf'),
      '[ca]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n',
    );
    opensslSelfSigned(this.dir, root.key, '/C=CN/O=Test/CN=Test Root', 30, root.cert);
    opensslHolderCsr(this.dir, 'sub', '/C=CN/O=Test/CN=Test Issuing CA');
    opensslSignCsr(this.dir, root, 'sub.csr', 'sub.der', {
      serial: '1',
      days: 30,
      extra: ['-extfile', 'ext.cnf', '-extensions', 'ca', '-outform', 'DER'],
    });
    this.root = openssl(['x509', '-in', root.cert, '-outform', 'DER'], this.dir);
    openssl(['x509', '-inform', 'DER', '-in', 'sub.der', '-out', this.#issuing.cert], this.dir);
    this.issuing = readFileSync(join(this.dir, 'sub.der'));
  }

  /** A fresh SM2 key's PKCS#10 request as PEM. */
  sm2Csr(): string {
    return opensslHolderCsr(this.dir, `h${++this.#n}`, '/CN=holder');
  }

  /** A P-256 key's request, signed ECDSA-with-SHA256. */
  p256Csr(): Buffer {
    opensslEcKeyFile(this.dir, 'p256.key', 'P-256');
    return openssl(
      ['req', '-new', '-key', 'p256.key', '-sha256', '-subj', '/CN=holder', '-outform', 'DER'],
      this.dir,
    );
  }

  /** Signs `csrDer` with the issuing CA; answers the certificate DER and its serial (hex). */
  issue(csrDer: Buffer, days: number): { der: Buffer; serial: string } {
    const n = ++this.#n;
    const serial = `${(0x10 + randomInt(0x70)).toString(16)}${randomBytes(9).toString('hex')}`;
    writeFileSync(join(this.dir, `r${n}.csr`), csrDer);
    opensslSignCsr(this.dir, this.#issuing, `r${n}.csr`, `r${n}.der`, {
      serial: `0x${serial}`,
      days,
      extra: ['-inform', 'DER', '-outform', 'DER'],
    });
    return { der: readFileSync(join(this.dir, `r${n}.der`)), serial };
  }

  /**
   * `openssl verify` of each certificate of a PEM chain (leaf first) by the next one.
   * OpenSSL 3.0 applies -vfyopt to the target certificate only, so each link is its own run.
   */
  verifyChain(pemChain: string): string[] {
    const blocks = pemChain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
    for (const [i, block] of blocks.entries()) writeFileSync(join(this.dir, `chain${i}.pem`), block);
    return blocks.slice(0, -1).map((_, i) =>
      openssl(
        ['verify', '-vfyopt', gmDistId, '-partial_chain', '-CAfile', `chain${i + 1}.pem`, `chain${i}.pem`],
        this.dir,
      )
        .toString()
        .trim(),
    );
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
