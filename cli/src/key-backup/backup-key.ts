import { randomUUID } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '@sm2ca/gm';
import { parseCertificate } from '@sm2ca/pki';
import { AppError, recordAudit } from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { split } from 'shamir-secret-sharing';
import { promptSecret, secretSource } from '../secret-prompt.ts';
import { sm2KeyId } from '../service-keys.ts';
import { type BackupDocument, backupFileName, checkValue, shareFileName } from './backup-document.ts';
import { custodianPassphrase, type PassphraseOptions } from './custodian-passphrase.ts';
import { insertBackup, loadIssuer, onRecord } from './key-backup-records.ts';
import { cliActor, type KeySources, withKeyDatabase, withKeyDevice } from './key-sources.ts';
import { sealShare } from './share-envelope.ts';

export interface BackupOptions {
  issuer: string;
  threshold: string;
  custodian: string[];
  out: string;
  passphraseSource: string;
  passphraseDir?: string;
  soPinPrompt: boolean;
}

const custodianName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const backupKinds = new Set(['root', 'subordinate']);

const badInput = (message: string) => new AppError('KEY_BACKUP_BAD_INPUT', message);

export function passphraseOptions(options: {
  passphraseSource: string;
  passphraseDir?: string;
}): PassphraseOptions {
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

/**
 * `sm2ca key backup`: the CA key wrapped in the device under a fresh SM4 key the SO makes trusted, that
 * key split m-of-n, each share sealed under its custodian's passphrase. Signs nothing.
 */
export async function backupKey(sources: KeySources, options: BackupOptions): Promise<void> {
  const threshold = Number(options.threshold);
  const custodians = options.custodian;
  const actor = cliActor();
  const refusal = { action: 'key.backup.refused', subjectType: 'issuer', subjectId: options.issuer };
  await withKeyDatabase(sources, (pool) =>
    onRecord(pool, actor, refusal, async () => {
      checkCustodians(custodians, threshold);
      const passphrases = passphraseOptions(options);
      const issuer = await loadIssuer(pool, options.issuer);
      if (!issuer) throw new AppError('KEY_BACKUP_ISSUER_UNKNOWN', `no issuer "${options.issuer}"`, 404);
      if (!backupKinds.has(issuer.kind)) {
        throw new AppError(
          'KEY_BACKUP_NOT_CA_KEY',
          `issuer "${issuer.id}" is a ${issuer.kind} key: only root and subordinate CA keys are backed up`,
          409,
        );
      }
      // Every passphrase before the device: a missing one must not leave a half-made backup.
      const secrets = new Map<string, string>();
      for (const custodian of custodians)
        secrets.set(custodian, await custodianPassphrase(custodian, passphrases));
      await emptyDirectory(options.out);
      const soPin = options.soPinPrompt ? await promptSecret('SO PIN of the token') : await sources.soPin();
      const certificateKey = parseCertificate(issuer.certificate).spki;
      await withKeyDevice(sources, undefined, async (device) => {
        const publicKey = await device.publicKey(issuer.keyLabel);
        if (!Buffer.from(publicKey).equals(Buffer.from(certificateKey))) {
          throw new AppError(
            'KEY_BACKUP_KEY_MISMATCH',
            `the device key "${issuer.keyLabel}" is not the key of issuer "${issuer.id}"'s certificate`,
            409,
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
            await insertBackup(client, document, actor);
            await recordAudit(client, actor, {
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
            const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
            await writeFile(join(options.out, backupFileName), json(document), { mode: 0o600 });
            for (const envelope of envelopes) {
              await writeFile(join(options.out, shareFileName(envelope)), json(envelope), { mode: 0o600 });
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
    }),
  );
}
