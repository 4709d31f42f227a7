import { join } from 'node:path';
import { toHex } from '@sm2ca/gm';
import { AppError, recordAudit } from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { combine } from 'shamir-secret-sharing';
import { sm2KeyId } from '../service-keys.ts';
import {
  backupFileName,
  matchesCheckValue,
  readBackupDocument,
  readShareEnvelope,
} from './backup-document.ts';
import { passphraseOptions } from './backup-key.ts';
import { custodianPassphrase } from './custodian-passphrase.ts';
import { backupOnRecord, insertRestore, onRecord } from './key-backup-records.ts';
import { cliActor, type KeySources, withKeyDatabase, withKeyDevice } from './key-sources.ts';
import type { ShareEnvelope } from './share-envelope.ts';
import { openShare } from './share-envelope.ts';

export interface RestoreOptions {
  backup: string;
  share: string[];
  token?: string;
  label?: string;
  passphraseSource: string;
  passphraseDir?: string;
}

/** The shares must be this backup's, each custodian's once, and at least as many as the threshold. */
function checkShares(
  envelopes: ShareEnvelope[],
  backup: { id: string; custodians: string[]; threshold: number },
) {
  const indices = new Set<number>();
  for (const envelope of envelopes) {
    if (envelope.backupId !== backup.id || backup.custodians[envelope.index - 1] !== envelope.custodian) {
      throw new AppError(
        'KEY_SHARE_FOREIGN',
        `the share of "${envelope.custodian}" (${envelope.index}) does not belong to backup ${backup.id}`,
      );
    }
    if (indices.has(envelope.index)) {
      throw new AppError('KEY_SHARE_REPEATED', `the share of "${envelope.custodian}" is given twice`);
    }
    indices.add(envelope.index);
  }
  if (envelopes.length < backup.threshold) {
    throw new AppError(
      'KEY_BACKUP_TOO_FEW_SHARES',
      `${envelopes.length} share${envelopes.length === 1 ? '' : 's'} given; backup ${backup.id} needs ${backup.threshold} of its ${backup.custodians.length} custodians' shares`,
      400,
      { given: envelopes.length, threshold: backup.threshold },
    );
  }
}

/**
 * `sm2ca key restore`: the SM4 key rebuilt from m shares, the CA key unwrapped with it into a token as
 * a never-extractable key with the backed-up public key. Signs nothing.
 */
export async function restoreKey(sources: KeySources, options: RestoreOptions): Promise<void> {
  const path = options.backup.endsWith('.json') ? options.backup : join(options.backup, backupFileName);
  const document = await readBackupDocument(path);
  const passphrases = passphraseOptions(options);
  const label = options.label ?? document.keyLabel;
  const actor = cliActor();
  const refusal = { action: 'key.restore.refused', subjectType: 'key_backup', subjectId: document.id };
  await withKeyDatabase(sources, (pool) =>
    onRecord(pool, actor, refusal, async () => {
      if (!(await backupOnRecord(pool, document))) {
        throw new AppError(
          'KEY_BACKUP_UNKNOWN',
          `backup ${document.id} is not the one this CA recorded`,
          404,
        );
      }
      const envelopes = await Promise.all(options.share.map(readShareEnvelope));
      checkShares(envelopes, document);
      const shares: Uint8Array[] = [];
      for (const envelope of envelopes) {
        shares.push(await openShare(envelope, await custodianPassphrase(envelope.custodian, passphrases)));
      }
      const secretKey = await combine(shares);
      for (const share of shares) share.fill(0);
      try {
        if (!matchesCheckValue(document, secretKey)) {
          throw new AppError(
            'KEY_BACKUP_SHARES_MISMATCH',
            `the shares do not rebuild the key of backup ${document.id}`,
          );
        }
        const custodians = envelopes.map((e) => e.custodian);
        await withKeyDevice(sources, options.token, async (device) => {
          const token = device.info().token;
          const spki = await withTransaction(pool, async (client) => {
            const spki = await device.restorePrivateKey(
              secretKey,
              Buffer.from(document.wrappedPrivateKey, 'base64'),
              label,
            );
            const where = { tokenLabel: token.label, tokenSerial: token.serialNumber, keyLabel: label };
            await insertRestore(client, { backupId: document.id, ...where, custodians }, actor);
            await recordAudit(client, actor, {
              action: 'key.restore',
              subjectType: 'key_backup',
              subjectId: document.id,
              after: { issuerId: document.issuerId, ...where, custodians },
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
    }),
  );
}
