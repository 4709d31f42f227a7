import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const distId = 'distid:1234567812345678';

function openssl(args: string[], cwd: string): Buffer {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * A root and an issuing CA made with the OpenSSL CLI (an implementation
 * independent of ours), and holder CSRs signed under the GM default ID.
 */
export class OpensslHierarchy {
  readonly dir = mkdtempSync(join(tmpdir(), 'ra-test-ca-'));
  readonly root: Buffer;
  readonly issuing: Buffer;
  #n = 0;

  constructor() {
    const sm2Key = (name: string) =>
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', name], this.dir);
    sm2Key('root.key');
    sm2Key('sub.key');
    writeFileSync(
      join(this.dir, 'ext.cnf'),
      '[ca]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n',
    );
    const sign = ['-sm3', '-sigopt', distId];
    openssl(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        'root.key',
        ...sign,
        '-subj',
        '/C=CN/O=Test/CN=Test Root',
        '-days',
        '30',
        '-out',
        'root.pem',
      ],
      this.dir,
    );
    openssl(
      [
        'req',
        '-new',
        '-key',
        'sub.key',
        ...sign,
        '-subj',
        '/C=CN/O=Test/CN=Test Issuing CA',
        '-out',
        'sub.csr',
      ],
      this.dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'sub.csr',
        '-CA',
        'root.pem',
        '-CAkey',
        'root.key',
        ...sign,
        '-vfyopt',
        distId,
        '-extfile',
        'ext.cnf',
        '-extensions',
        'ca',
        '-set_serial',
        '1',
        '-days',
        '30',
        '-outform',
        'DER',
        '-out',
        'sub.der',
      ],
      this.dir,
    );
    this.root = openssl(['x509', '-in', 'root.pem', '-outform', 'DER'], this.dir);
    openssl(['x509', '-inform', 'DER', '-in', 'sub.der', '-out', 'sub.pem'], this.dir);
    this.issuing = readFileSync(join(this.dir, 'sub.der'));
  }

  /** A fresh SM2 key's PKCS#10 request as PEM. */
  sm2Csr(): string {
    const n = ++this.#n;
    openssl(
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', `h${n}.key`],
      this.dir,
    );
    return openssl(
      ['req', '-new', '-key', `h${n}.key`, '-sm3', '-sigopt', distId, '-subj', '/CN=holder'],
      this.dir,
    ).toString();
  }

  /** A P-256 key's request, signed ECDSA-with-SHA256. */
  p256Csr(): Buffer {
    openssl(
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'p256.key'],
      this.dir,
    );
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
    openssl(
      [
        'x509',
        '-req',
        '-inform',
        'DER',
        '-in',
        `r${n}.csr`,
        '-CA',
        'sub.pem',
        '-CAkey',
        'sub.key',
        '-sm3',
        '-sigopt',
        distId,
        '-vfyopt',
        distId,
        '-set_serial',
        `0x${serial}`,
        '-days',
        String(days),
        '-outform',
        'DER',
        '-out',
        `r${n}.der`,
      ],
      this.dir,
    );
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
        ['verify', '-vfyopt', distId, '-partial_chain', '-CAfile', `chain${i + 1}.pem`, `chain${i}.pem`],
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
