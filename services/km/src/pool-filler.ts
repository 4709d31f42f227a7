import type { KmContext } from './km-context.ts';

/** NOTIFY channel of takes that left the pool below its low-water mark. */
export const poolChannel = 'sm2ca_km_pool';

/** Keys generated in parallel and recorded in one statement (with one audit record). */
const BATCH = 8;

const addToPool = `
  WITH added AS (
    INSERT INTO km_keys (state, public_key, wrapped_private_key, master_key_label)
    SELECT 'pooled', k.public_key, k.wrapped, $3 FROM unnest($1::bytea[], $2::bytea[]) AS k(public_key, wrapped)
    RETURNING id
  )
  INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
  SELECT 'km', 'km_pool_filler', 'km.pool.fill', 'km_pool', $3,
         jsonb_build_object('keys', count(*), 'firstId', min(id), 'lastId', max(id))
    FROM added`;

export async function pooledCount(km: Pick<KmContext, 'pool'>): Promise<number> {
  const { rows } = await km.pool.query("SELECT count(*)::int AS n FROM km_keys WHERE state = 'pooled'");
  return rows[0].n as number;
}

/**
 * Tops the pool up to `poolSize` once it has fallen below `poolLowWater`, so the device
 * generates keys in bursts between issuances rather than during them. Each key pair is made in
 * the device and leaves it only with its private key wrapped under the master key. Returns how
 * many it added; `carryOn` is asked between batches (leadership may go meanwhile).
 */
export async function fillPool(
  km: KmContext,
  settings: { poolSize: number; poolLowWater: number },
  carryOn: () => boolean,
): Promise<number> {
  let pooled = await pooledCount(km);
  if (pooled >= settings.poolLowWater) return 0;
  let added = 0;
  while (pooled < settings.poolSize && carryOn()) {
    const batch = Math.min(BATCH, settings.poolSize - pooled);
    const keys = await Promise.all(
      Array.from({ length: batch }, () => km.device.generateWrappedKeyPair(km.masterKeyLabel)),
    );
    await km.pool.query({
      name: 'km-add-to-pool',
      text: addToPool,
      values: [
        keys.map((k) => Buffer.from(k.publicKey)),
        keys.map((k) => Buffer.from(k.wrappedPrivateKey)),
        km.masterKeyLabel,
      ],
    });
    added += batch;
    pooled = await pooledCount(km);
  }
  return added;
}
