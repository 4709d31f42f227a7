import { readFileSync } from 'node:fs';
import { AppError } from '@sm2ca/platform';
import type { Command } from 'commander';
import { signWithKeyFile } from '../operator-signature.ts';

interface LoginOptions {
  key: string;
  cert: string;
  totp: string;
  ra?: string;
}

async function post(url: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const error = (answer.error ?? {}) as { code?: string; message?: string };
    throw new AppError(
      error.code ?? 'RA_ERROR',
      error.message ?? `the RA answered ${res.status}`,
      res.status,
    );
  }
  return answer;
}

/**
 * `sm2ca login`: certificate login from the operator's own key file. Prints the session token
 * (stdout, for `export SM2CA_TOKEN=$(sm2ca login …)`) and when it expires (stderr).
 */
export function registerLoginCommand(program: Command, deps: { raUrl: () => string }): void {
  program
    .command('login')
    .description(
      'log in to the RA with your operator certificate, its key and a TOTP code; prints a session token',
    )
    .requiredOption(
      '--key <file>',
      'your SM2 private key (PEM or DER, PKCS#8 or SEC1; an encrypted PKCS#8 key is opened with SM2CA_KEY_PASSPHRASE or a prompt)',
    )
    .requiredOption('--cert <file>', 'your operator login certificate (PEM or DER)')
    .requiredOption('--totp <code>', 'the current 6-digit code of your authenticator')
    .option('--ra <url>', 'the RA base URL (default: from the configuration)')
    .action(async (options: LoginOptions) => {
      const base = (options.ra ?? deps.raUrl()).replace(/\/+$/, '');
      const certificate = readFileSync(options.cert);
      const presented = certificate.includes('-----BEGIN')
        ? certificate.toString('latin1')
        : certificate.toString('base64');
      const { challenge } = (await post(`${base}/v1/login/challenge`, { certificate: presented })) as {
        challenge: string;
      };
      const signature = await signWithKeyFile(options.key, new TextEncoder().encode(challenge));
      const session = (await post(`${base}/v1/login`, {
        challenge,
        signature: signature.toString('base64'),
        totp: options.totp,
      })) as { token: string; expiresAt: string };
      process.stderr.write(`logged in; the session ends at ${session.expiresAt}\n`);
      console.log(session.token);
    });
}
