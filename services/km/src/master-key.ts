import type { Device, SecretKeyInspection } from '@sm2ca/device';
import { type Actor, AppError, recordAudit } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';

/** The SM4 key in the device under which every escrowed private key is wrapped. */
export const kmMasterKeyLabel = 'km-master';

const MASTER_KEY_LOCK = 'sm2ca:km-master-key';

/**
 * Why the object under the master key's label may not serve as the master key, or nothing. A key
 * planted there by someone with token access — extractable, or able to decrypt what it wraps, or
 * imported rather than made in the device — would let escrowed private keys out in clear.
 */
export function masterKeyRefusal(found: SecretKeyInspection): string[] {
  if (found.secretKeys !== 1 || found.otherObjects > 0) {
    return [
      `the label holds ${found.secretKeys} secret key(s) and ${found.otherObjects} other object(s), not one key`,
    ];
  }
  const key = found.secretKey!;
  const reasons: string[] = [];
  if (!key.expectedType) reasons.push("it is not the device's symmetric (SM4) key type");
  if (!key.sensitive || !key.alwaysSensitive) reasons.push('it is or was readable (not always sensitive)');
  if (key.extractable || !key.neverExtractable) reasons.push('it is or was extractable');
  if (!key.local) reasons.push('it was not generated inside the device');
  if (key.encrypt || key.decrypt)
    reasons.push('it can encrypt or decrypt data, not only wrap and unwrap keys');
  if (!key.wrap || !key.unwrap) reasons.push('it cannot both wrap and unwrap');
  return reasons;
}

/** Refuses, on record, a master key that is not what `sm2ca km master-key` makes. */
export async function requireFitMasterKey(pool: Pool, device: Device, actor: Actor): Promise<void> {
  const reasons = masterKeyRefusal(await device.inspectSecretKey(kmMasterKeyLabel));
  if (reasons.length === 0) return;
  await withTransaction(pool, (client) =>
    recordAudit(client, actor, {
      action: 'km.master-key.refused',
      subjectType: 'device_key',
      subjectId: kmMasterKeyLabel,
      after: { reasons },
    }),
  );
  throw new AppError(
    'KM_MASTER_KEY_REFUSED',
    `the device holds an object labelled "${kmMasterKeyLabel}" that the KM will not use as its master key: ${reasons.join('; ')}. The master key is made in the device by \`sm2ca km master-key\`; find out how this one got there, then remove it with the device's own tools`,
    409,
    { keyLabel: kmMasterKeyLabel, reasons },
  );
}

/**
 * Creates the KM master key once: sensitive, never extractable, for wrapping and unwrapping
 * only, so an escrowed private key is never in clear outside the device. A second run finds it
 * and changes nothing; two at once make one (they take turns under an advisory lock).
 */
export async function ensureKmMasterKey(
  pool: Pool,
  device: Device,
  actor: Actor,
): Promise<{ created: boolean }> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [MASTER_KEY_LOCK]);
    if (await device.hasKey(kmMasterKeyLabel)) {
      await requireFitMasterKey(pool, device, actor);
      return { created: false };
    }
    await device.createMasterKey(kmMasterKeyLabel);
    await recordAudit(client, actor, {
      action: 'km.master-key.create',
      subjectType: 'device_key',
      subjectId: kmMasterKeyLabel,
      after: { algorithm: 'SM4', extractable: false, use: ['wrap', 'unwrap'] },
    });
    return { created: true };
  });
}
