import type { Device } from '@sm2ca/device';
import { type Actor, recordAudit } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';

/** The SM4 key in the device under which every escrowed private key is wrapped. */
export const kmMasterKeyLabel = 'km-master';

const MASTER_KEY_LOCK = 'sm2ca:km-master-key';

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
    if (await device.hasKey(kmMasterKeyLabel)) return { created: false };
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
