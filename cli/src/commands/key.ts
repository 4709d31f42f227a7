import { randomUUID } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Device, type DeviceConfig, openDevice } from '@sm2ca/device';
import { toHex } from '@sm2ca/gm';
import { parseCertificate } from '@sm2ca/pki';
import { type Actor, AppError, type Database, recordAudit } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import type { Command } from 'commander';
import { combine, split } from 'shamir-secret-sharing';
import {
  type BackupDocument,
  backupFileName,
  checkValue,
  matchesCheckValue,
  readBackupDocument,
  readShareEnvelope,
  shareFileName,
} from '../key-backup/backup-document.ts';
import { custodianPassphrase, type PassphraseOptions } from '../key-backup/custodian-passphrase.ts';
import {
  backupOnRecord,
  insertBackup,
  insertRestore,
  loadIssuer,
  refuse,
} from '../key-backup/key-backup-records.ts';
import { openShare, sealShare } from '../key-backup/share-envelope.ts';
import { promptSecret, secretSource } from '../secret-prompt.ts';
import { sm2KeyId } from '../service-keys.ts';

/** Where the key commands get their device, the token's SO PIN and the CA's database. */
export interface KeySources {
  /** The configured token, or the token labelled `tokenLabel` with the same module and user PIN. */
  device: (tokenLabel?: string) => Promise<DeviceConfig | Device>;
  soPin: () => Promise<string>;
  database: () => Promise<Database>;
}

const actor = (): Actor => ({ name: `cli:${userInfo().username}`, role: 'key_custody_cli' });

const custodianName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const backupKinds = new Set(['root', 'subordinate']);

async function withDevice<T>(
  sources: KeySources,
  tokenLabel: string | undefined,
  use: (device: Device) => Promise<T>,
): Promise<T> {
  const source = await sources.device(tokenLabel);
  const device = source instanceof Device ? source : await openDevice(source);
  try {
    return await use(device);
  } finally {
    await device.close();
  }
}

async function withDatabase<T>(sources: KeySources, use: (pool: Pool) => Promise<T>): Promise<T> {
  const db = await sources.database();
  try {
    return await use(db.pool);
  } finally {
    await db.close();
  }
}

function badInput(message: string): AppError {
  return new AppError('KEY_BACKUP_BAD_INPUT', message);
}

function passphraseOptions(options: { passphraseSource: string; passphraseDir?: string }): PassphraseOptions {
  const source = secretSource(options.passphraseSource, '--passphrase-source', ['env', 'file', 'prompt']);
  return options.passphraseDir ? { source, dir: options.passphraseDir } : { source };
}

function checkCustodians(custodians: string[], threshold: number): void {
  for (const name of custodians) {
    if (!custodianName.test(name)) {
      throw badInput(`custodian "${name}" must be 1–64 letters, digits, ".", "_" or "-" (it names a file)`);
    }
  }
  if (new Set(custodians.map((c) => c.toLowerCase())).size !== custodians.length) {
    throw badInput('each custodian may hold one share only: a name is repeated');
  }
  if (
    !Number.isInteger(threshold) ||
    threshold < 2 ||
    threshold > custodians.length ||
    custodians.length > 255
  ) {
    throw badInput(
      `the threshold must be a whole number from 2 to the number of custodians (${custodians.length}, at most 255), not ${threshold}`,
    );
  }
}

async function emptyDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if ((await readdir(dir)).length > 0)
    throw badInput(`${dir} is not empty; a backup goes into a directory of its own`);
}

interface BackupOptions {
  issuer: string;
  threshold: string;
  custodian: string[];
  out: string;
  passphraseSource: string;
  passphraseDir?: string;
  soPinPrompt: boolean;
}

async function backup(sources: KeySources, options: BackupOptions): Promise<void> {
  const threshold = Number(options.threshold);
  const custodians = options.custodian;
  checkCustodians(custodians, threshold);
  const passphrases = passphraseOptions(options);
  await withDatabase(sources, async (pool) => {
    const entry = { action: 'key.backup.refused', subjectType: 'issuer', subjectId: options.issuer };
    const issuer = await loadIssuer(pool, options.issuer);
    if (!issuer) {
      await refuse(
        pool,
        actor(),
        entry,
        new AppError('KEY_BACKUP_ISSUER_UNKNOWN', `no issuer "${options.issuer}"`, 404),
      );
      return;
    }
    if (!backupKinds.has(issuer.kind)) {
      await refuse(
        pool,
        actor(),
        entry,
        new AppError(
          'KEY_BACKUP_NOT_CA_KEY',
          `issuer "${issuer.id}" is a ${issuer.kind} key: only root and subordinate CA keys are backed up`,
          409,
        ),
      );
    }
    // Every passphrase before the device: a missing one must not leave a half-made backup.
    const secrets = new Map<string, string>();
    for (const custodian of custodians)
      secrets.set(custodian, await custodianPassphrase(custodian, passphrases));
    await emptyDirectory(options.out);
    const soPin = options.soPinPrompt ? await promptSecret('SO PIN of the token') : await sources.soPin();
    const certificateKey = parseCertificate(issuer.certificate).spki;
    await withDevice(sources, undefined, async (device) => {
      const publicKey = await device.publicKey(issuer.keyLabel);
      if (!Buffer.from(publicKey).equals(Buffer.from(certificateKey))) {
        await refuse(
          pool,
          actor(),
          entry,
          new AppError(
            'KEY_BACKUP_KEY_MISMATCH',
            `the device key "${issuer.keyLabel}" is not the key of issuer "${issuer.id}"'s certificate`,
            409,
          ),
        );
      }
      const wrapped = await device.backupPrivateKey(issuer.keyLabel, soPin);
      const id = randomUUID();
      try {
        const shares = await split(wrapped.secretKey, custodians.length, threshold);
        const document: BackupDocument = {
          format: 'sm2ca-key-backup/1',
          id,
          issuerId: issuer.id,
          keyLabel: issuer.keyLabel,
          publicKey: Buffer.from(publicKey).toString('base64'),
          wrappedPrivateKey: Buffer.from(wrapped.wrappedPrivateKey).toString('base64'),
          wrapping: 'SM4-ECB',
          threshold,
          custodians,
          checkValue: checkValue(id, wrapped.secretKey).toString('base64'),
          createdAt: new Date().toISOString(),
        };
        const envelopes = await Promise.all(
          custodians.map((custodian, i) =>
            sealShare(shares[i]!, secrets.get(custodian)!, { backupId: id, custodian, index: i + 1 }),
          ),
        );
        for (const share of shares) share.fill(0);
        // The files are written inside the transaction: a backup is on record exactly when its files exist.
        await withTransaction(pool, async (client) => {
          await insertBackup(client, document, actor());
          await recordAudit(client, actor(), {
            action: 'key.backup',
            subjectType: 'issuer',
            subjectId: issuer.id,
            after: {
              backupId: id,
              keyLabel: issuer.keyLabel,
              keyId: toHex(sm2KeyId(publicKey) ?? new Uint8Array()),
              threshold,
              custodians,
            },
          });
          await writeFile(join(options.out, backupFileName), `${JSON.stringify(document, null, 2)}\n`, {
            mode: 0o600,
          });
          for (const envelope of envelopes) {
            await writeFile(
              join(options.out, shareFileName(envelope)),
              `${JSON.stringify(envelope, null, 2)}\n`,
              {
                mode: 0o600,
              },
            );
          }
        });
        console.log(
          [
            `backed up the key of issuer ${issuer.id} ("${issuer.keyLabel}") as backup ${id}: ${threshold} of ${custodians.length} shares restore it`,
            `  ${join(options.out, backupFileName)} (the wrapped key; not secret without ${threshold} shares)`,
            ...envelopes.map(
              (e) => `  ${join(options.out, shareFileName(e))} → custodian ${e.custodian} only`,
            ),
          ].join('\n'),
        );
      } finally {
        wrapped.secretKey.fill(0);
      }
    });
  });
}

interface RestoreOptions {
  backup: string;
  share: string[];
  token?: string;
  label?: string;
  passphraseSource: string;
  passphraseDir?: string;
}

async function restore(sources: KeySources, options: RestoreOptions): Promise<void> {
  const path = options.backup.endsWith('.json') ? options.backup : join(options.backup, backupFileName);
  const document = await readBackupDocument(path);
  const passphrases = passphraseOptions(options);
  const label = options.label ?? document.keyLabel;
  await withDatabase(sources, async (pool) => {
    const entry = { action: 'key.restore.refused', subjectType: 'key_backup', subjectId: document.id };
    const refused = (code: string, message: string, status = 400, details?: Record<string, unknown>) =>
      refuse(pool, actor(), entry, new AppError(code, message, status, details));
    if (!(await backupOnRecord(pool, document))) {
      await refused('KEY_BACKUP_UNKNOWN', `backup ${document.id} is not the one this CA recorded`, 404);
    }
    const envelopes = await Promise.all(options.share.map(readShareEnvelope));
    const indices = new Set<number>();
    for (const envelope of envelopes) {
      if (
        envelope.backupId !== document.id ||
        document.custodians[envelope.index - 1] !== envelope.custodian
      ) {
        await refused(
          'KEY_SHARE_FOREIGN',
          `the share of "${envelope.custodian}" (${envelope.index}) does not belong to backup ${document.id}`,
        );
      }
      if (indices.has(envelope.index)) {
        await refused('KEY_SHARE_REPEATED', `the share of "${envelope.custodian}" is given twice`);
      }
      indices.add(envelope.index);
    }
    if (envelopes.length < document.threshold) {
      await refused(
        'KEY_BACKUP_TOO_FEW_SHARES',
        `${envelopes.length} share${envelopes.length === 1 ? '' : 's'} given; backup ${document.id} needs ${document.threshold} of its ${document.custodians.length} custodians' shares`,
        400,
        { given: envelopes.length, threshold: document.threshold },
      );
    }
    const shares: Uint8Array[] = [];
    for (const envelope of envelopes) {
      const passphrase = await custodianPassphrase(envelope.custodian, passphrases);
      try {
        shares.push(await openShare(envelope, passphrase));
      } catch (err) {
        if (err instanceof AppError) await refuse(pool, actor(), entry, err);
        throw err;
      }
    }
    const secretKey = await combine(shares);
    for (const share of shares) share.fill(0);
    try {
      if (!matchesCheckValue(document, secretKey)) {
        await refused(
          'KEY_BACKUP_SHARES_MISMATCH',
          `the shares do not rebuild the key of backup ${document.id}`,
        );
      }
      const custodians = envelopes.map((e) => e.custodian);
      await withDevice(sources, options.token, async (device) => {
        const token = device.info().token;
        const spki = await withTransaction(pool, async (client) => {
          const spki = await device.restorePrivateKey(
            secretKey,
            Buffer.from(document.wrappedPrivateKey, 'base64'),
            label,
          );
          await insertRestore(
            client,
            {
              backupId: document.id,
              tokenLabel: token.label,
              tokenSerial: token.serialNumber,
              keyLabel: label,
              custodians,
            },
            actor(),
          );
          await recordAudit(client, actor(), {
            action: 'key.restore',
            subjectType: 'key_backup',
            subjectId: document.id,
            after: {
              issuerId: document.issuerId,
              keyLabel: label,
              token: token.label,
              serial: token.serialNumber,
              custodians,
            },
          });
          return spki;
        });
        console.log(
          `restored the key of issuer ${document.issuerId} from backup ${document.id} as "${label}" on token ${token.label} (serial ${token.serialNumber}), key id ${toHex(sm2KeyId(spki) ?? new Uint8Array())}`,
        );
      });
    } finally {
      secretKey.fill(0);
    }
  });
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * `sm2ca key backup|restore`: a CA key leaves the device only wrapped under a fresh SM4 key that the
 * security officer makes trusted; that SM4 key is split m-of-n among custodians, each share under
 * the custodian's passphrase. Neither command signs anything.
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
    .action((options: BackupOptions) => backup(sources, options));

  key
    .command('restore')
    .description('restore a backed-up CA key into a token from at least m shares')
    .requiredOption('--backup <path>', 'backup.json, or the directory holding it')
    .requiredOption('--share <file>', 'a custodian share file (repeat)', collect, [])
    .option('--token <label>', 'the token to restore into (default: the configured token)')
    .option('--label <label>', 'label of the restored key (default: the label it was backed up from)')
    .option('--passphrase-source <source>', passphraseHelp, 'prompt')
    .option('--passphrase-dir <dir>', 'directory of passphrase files, one per custodian')
    .action((options: RestoreOptions) => restore(sources, options));
}
