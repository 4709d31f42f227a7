import type { Command } from 'commander';
import { type BackupOptions, backupKey } from '../key-backup/backup-key.ts';
import type { KeySources } from '../key-backup/key-sources.ts';
import { type RestoreOptions, restoreKey } from '../key-backup/restore-key.ts';

export type { KeySources } from '../key-backup/key-sources.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * `sm2ca key backup|restore`: a CA key leaves the device only wrapped under a fresh SM4 key that the
 * security officer makes trusted; that SM4 key is split m-of-n among custodians, each share under
 * the custodian's passphrase. Neither command signs anything; both, and every refusal, are on record.
 */
export function registerKeyCommands(program: Command, sources: KeySources): void {
  const key = program.command('key').description('split-custody backup and restore of CA keys');
  const passphraseHelp =
    "where custodians' passphrases come from: env (SM2CA_CUSTODIAN_<NAME>_PASSPHRASE), file (--passphrase-dir/<name>) or prompt";

  key
    .command('backup')
    .description('back up a CA key: wrapped in the device, its wrapping key split m-of-n among custodians')
    .requiredOption('--issuer <id>', 'the issuer whose key to back up (root or subordinate CA)')
    .requiredOption('--threshold <m>', 'how many shares restore the key')
    .requiredOption('--custodian <name>', 'a custodian (repeat, one per share)', collect, [])
    .requiredOption('--out <dir>', 'empty directory for backup.json and the share files')
    .option('--passphrase-source <source>', passphraseHelp, 'prompt')
    .option('--passphrase-dir <dir>', 'directory of passphrase files, one per custodian')
    .option(
      '--so-pin-prompt',
      "ask for the token's SO PIN instead of taking it from the configuration",
      false,
    )
    .action((options: BackupOptions) => backupKey(sources, options));

  key
    .command('restore')
    .description('restore a backed-up CA key into a token from at least m shares')
    .requiredOption('--backup <path>', 'backup.json, or the directory holding it')
    .requiredOption('--share <file>', 'a custodian share file (repeat)', collect, [])
    .option('--token <label>', 'the token to restore into (default: the configured token)')
    .option('--label <label>', 'label of the restored key (default: the label it was backed up from)')
    .option('--passphrase-source <source>', passphraseHelp, 'prompt')
    .option('--passphrase-dir <dir>', 'directory of passphrase files, one per custodian')
    .action((options: RestoreOptions) => restoreKey(sources, options));
}
