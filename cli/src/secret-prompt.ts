import { createInterface } from 'node:readline';
import { AppError } from '@sm2ca/platform';

/** Where a secret (a PIN, a custodian's passphrase) comes from; none of them is ever logged. */
export type SecretSource = 'env' | 'file' | 'prompt';

export function secretSource(value: string, setting: string, allowed: SecretSource[]): SecretSource {
  if ((allowed as string[]).includes(value)) return value as SecretSource;
  throw new AppError(
    'SECRET_SOURCE_INVALID',
    `${setting} must be one of ${allowed.join(', ')}, not "${value}"`,
  );
}

/** Asks on the terminal without echoing the answer; refuses when there is no terminal to ask on. */
export async function promptSecret(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new AppError(
      'SECRET_PROMPT_NO_TERMINAL',
      `${question}: standard input is not a terminal; take the secret from the environment or a file instead`,
    );
  }
  const reader = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  process.stderr.write(`${question}: `);
  // readline echoes what it reads through this hook; silenced, the secret never reaches the screen.
  (reader as unknown as { _writeToOutput: (text: string) => void })._writeToOutput = () => {};
  try {
    return await new Promise<string>((resolve) => reader.question('', resolve));
  } finally {
    reader.close();
    process.stderr.write('\n');
  }
}
