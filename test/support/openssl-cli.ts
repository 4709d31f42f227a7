import { execFileSync } from 'node:child_process';

/** The OpenSSL 3 CLI as a third-party GM tool: stdout as text, throws with its stderr on failure. */
export function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

export const gmDistId = 'distid:1234567812345678';

/** A holder's own SM2 key and its PKCS#10 request under the GM default ID, made entirely by OpenSSL. */
export function opensslHolderCsr(cwd: string, name: string, subject: string): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', `${name}.key`], cwd);
  openssl(
    [
      'req',
      '-new',
      '-key',
      `${name}.key`,
      '-sm3',
      '-sigopt',
      gmDistId,
      '-subj',
      subject,
      '-out',
      `${name}.csr`,
    ],
    cwd,
  );
  return openssl(['req', '-in', `${name}.csr`, '-outform', 'PEM'], cwd);
}
