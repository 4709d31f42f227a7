import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '@sm2ca/platform';
import { promptSecret, type SecretSource } from '../secret-prompt.ts';

export interface PassphraseOptions {
  source: SecretSource;
  /** For the file source: a directory with one file per custodian, named after the custodian. */
  dir?: string;
}

const minimumLength = 12;

/** SM2CA_CUSTODIAN_<NAME>_PASSPHRASE, the name upper-cased with anything but letters and digits as `_`. */
export function passphraseVariable(custodian: string): string {
  return `SM2CA_CUSTODIAN_${custodian.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSPHRASE`;
}

async function read(custodian: string, options: PassphraseOptions): Promise<string | undefined> {
  switch (options.source) {
    case 'env':
      return process.env[passphraseVariable(custodian)];
    case 'file': {
      if (!options.dir) {
        throw new AppError('KEY_PASSPHRASE_MISSING', 'the file source needs --passphrase-dir');
      }
      try {
        return (await readFile(join(options.dir, custodian), 'utf8')).replace(/\r?\n$/, '');
      } catch {
        return undefined;
      }
    }
    case 'prompt':
      return promptSecret(`passphrase of custodian ${custodian}`);
  }
}

/** The custodian's passphrase from the chosen source; a missing or short one is refused by name. */
export async function custodianPassphrase(custodian: string, options: PassphraseOptions): Promise<string> {
  const passphrase = await read(custodian, options);
  if (!passphrase) {
    const where =
      options.source === 'env'
        ? passphraseVariable(custodian)
        : options.source === 'file'
          ? join(options.dir ?? '', custodian)
          : 'the prompt';
    throw new AppError(
      'KEY_PASSPHRASE_MISSING',
      `no passphrase for custodian "${custodian}" in ${where}`,
      400,
      {
        custodian,
      },
    );
  }
  if (passphrase.length < minimumLength) {
    throw new AppError(
      'KEY_PASSPHRASE_WEAK',
      `the passphrase of custodian "${custodian}" is shorter than ${minimumLength} characters`,
      400,
      { custodian },
    );
  }
  return passphrase;
}
