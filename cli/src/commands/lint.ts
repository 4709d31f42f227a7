import { readFile } from 'node:fs/promises';
import {
  type LintFinding,
  lintCertificate,
  PROFILES,
  type ProfileId,
  parseCertificate,
  pemOrDerToDer,
} from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { Command } from 'commander';

/** A file that is not a certificate at all is a usage error, not a lint finding. */
async function readCertificate(path: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(await readFile(path));
  try {
    const der = pemOrDerToDer(bytes, 'CERTIFICATE');
    parseCertificate(der);
    return der;
  } catch (err) {
    throw new AppError(
      'CERTIFICATE_UNREADABLE',
      `${path} is not a certificate in PEM or DER (${(err as Error).message})`,
    );
  }
}

function format(findings: LintFinding[]): string {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const lines = findings.map((f) => `${f.severity.padEnd(7)} ${f.code}: ${f.message}`);
  lines.push(
    findings.length === 0 ? 'OK: no findings' : `${errors} error(s), ${findings.length - errors} warning(s)`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * `sm2ca lint CERT [--issuer CA_CERT] [--profile ID]`: the GM/T 0015 linter the CA runs before
 * signing, on any certificate. Exit status 1 when there is an error finding.
 */
export function registerLintCommand(program: Command): void {
  program
    .command('lint')
    .description('check a certificate against the GM/T 0015 rules (signature under the GM default ID)')
    .argument('<cert>', 'certificate file, PEM or DER')
    .option(
      '--issuer <file>',
      'issuing CA certificate, PEM or DER: also checks issuer name, AKI and signature',
    )
    .option('--profile <id>', `profile the certificate must follow: ${Object.keys(PROFILES).join(', ')}`)
    .action(async (certPath: string, options: { issuer?: string; profile?: string }) => {
      if (options.profile !== undefined && !(options.profile in PROFILES)) {
        program.error(`unknown profile ${options.profile}`);
      }
      const cert = await readCertificate(certPath);
      const issuer = options.issuer === undefined ? undefined : await readCertificate(options.issuer);
      const findings = await lintCertificate(cert, {
        issuer,
        profile: options.profile as ProfileId | undefined,
      });
      process.stdout.write(format(findings));
      process.exitCode = findings.some((f) => f.severity === 'error') ? 1 : 0;
    });
}
