import type { KmRequestItem, KmRespondItem } from '@sm2ca/pki';
import type { Pool, PoolClient } from '@sm2ca/store';
import { checkAlgorithms, checkEnvelopeKey, checkUserCertNo } from './item-checks.ts';
import type { KmCall, KmContext, KmHandler } from './km-context.ts';
import { kmRefusal } from './km-refusal.ts';
import { poolChannel } from './pool-filler.ts';

type ApplyKey = Extract<KmRequestItem, { kind: 'applyKey' }>;

/** An escrowed key and whom it is enveloped to. */
interface Escrow {
  publicKey: Uint8Array;
  wrappedPrivateKey: Uint8Array;
  masterKeyLabel: string;
  holderPublicKey: Uint8Array;
}

/**
 * The oldest pooled key becomes the holder's escrow in ONE statement, its audit record in the
 * same statement: whatever instant the KM dies at, the key is either still pooled or escrowed to
 * exactly this certificate, never both, never neither. SKIP LOCKED lets concurrent takes each
 * get another key instead of queueing on the oldest; the unique (ca_name, user_cert_no) index
 * refuses a second key for one certificate however the takes race.
 */
const takeFromPool = `
  WITH taken AS (
    UPDATE km_keys
       SET state = 'current', ca_name = $1, user_cert_no = $2, holder_public_key = $3, not_before = $4,
           not_after = $5, taken_at = now(), taken_task_no = $6, state_changed_at = now()
     WHERE id = (SELECT id FROM km_keys WHERE state = 'pooled' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING id
  ), audit AS (
    INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
    SELECT $7, $8, 'km.key.escrow', 'km_key', id::text, $9 FROM taken
  )
  SELECT id, (SELECT count(*) FROM km_keys WHERE state = 'pooled')::int - 1 AS pooled_left FROM taken`;

/** An empty pool must not stop issuance: a key made on the spot is escrowed the same way. */
const escrowNew = `
  WITH escrow AS (
    INSERT INTO km_keys (state, public_key, wrapped_private_key, master_key_label, ca_name, user_cert_no,
                         holder_public_key, not_before, not_after, taken_at, taken_task_no)
    VALUES ('current', $10, $11, $12, $1, $2, $3, $4, $5, now(), $6)
    RETURNING id
  )
  INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
  SELECT $7, $8, 'km.key.escrow', 'km_key', id::text, $9 FROM escrow`;

/**
 * A new task's whole state change when the pool has a key: the take, the task's ledger row and
 * the audit record in ONE statement (one transaction, one round trip). The ledger row hangs off
 * the take, so an empty pool writes nothing; a task already on record (a retry, a twin, a
 * replay) or a certificate number already escrowed fails the statement on its unique index and
 * takes nothing. The key comes back with it: a fresh task is answered without reading it again.
 * The pool is counted only up to the low-water mark.
 */
const recordAndTake = `
  WITH taken AS (
    UPDATE km_keys
       SET state = 'current', ca_name = $1, user_cert_no = $2, holder_public_key = $3, not_before = $4,
           not_after = $5, taken_at = now(), taken_task_no = $6, state_changed_at = now()
     WHERE id = (SELECT id FROM km_keys WHERE state = 'pooled' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING id, public_key, wrapped_private_key, master_key_label
  ), ledger AS (
    INSERT INTO km_requests (task_no, caller_id, caller_serial, ca_name, body_digest)
    SELECT $6, $10, $11, $1, $12 FROM taken
  ), audit AS (
    INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
    SELECT $7, $8, 'km.key.escrow', 'km_key', id::text, $9 FROM taken
  )
  SELECT public_key, wrapped_private_key, master_key_label,
         (SELECT count(*) FROM (SELECT FROM km_keys WHERE state = 'pooled' LIMIT $13::int + 1) AS p)::int - 1
           AS pooled_left
    FROM taken`;

/**
 * A one-item applyKey task recorded and given its key from the pool in one statement; the
 * envelope of that key, or undefined when the generic path must decide (an empty pool, a task
 * or certificate number already on record: its refusal or repeat is that path's to answer).
 */
export async function applyKeyAtOnce(
  km: KmContext,
  call: KmCall,
  item: ApplyKey,
  digest: Buffer,
): Promise<KmRespondItem | undefined> {
  let rows: Record<string, unknown>[];
  try {
    ({ rows } = await km.pool.query({
      name: 'km-record-and-take',
      text: recordAndTake,
      values: [...holderOf(call, item), call.caller.id, call.caller.serial, digest, km.poolLowWater],
    }));
  } catch (err) {
    if ((err as { code?: string }).code === '23505') return undefined;
    throw err;
  }
  const taken = rows[0];
  if (!taken) return undefined;
  if ((taken.pooled_left as number) < km.poolLowWater) await wakeFiller(km.pool);
  return retKey(km, item, {
    publicKey: new Uint8Array(taken.public_key as Buffer),
    wrappedPrivateKey: new Uint8Array(taken.wrapped_private_key as Buffer),
    masterKeyLabel: taken.master_key_label as string,
    holderPublicKey: item.userPublicKey,
  });
}

/** The holder columns of a take and its audit record ($1–$9 of both take statements). */
function holderOf(call: KmCall, item: ApplyKey): unknown[] {
  const { caName, taskNo } = call.request;
  return [
    caName,
    item.userCertNo,
    Buffer.from(item.userPublicKey),
    item.notBefore,
    item.notAfter,
    taskNo,
    call.actor.name,
    call.actor.role,
    JSON.stringify({ caName, userCertNo: item.userCertNo, taskNo, callerSerial: call.caller.serial }),
  ];
}

async function retKey(km: KmContext, item: ApplyKey, escrow: Escrow): Promise<KmRespondItem> {
  return {
    kind: 'retKey',
    userCertNo: item.userCertNo,
    publicKey: escrow.publicKey,
    envelopedKey: await km.device.envelopeWrappedKey(
      escrow.masterKeyLabel,
      escrow.wrappedPrivateKey,
      escrow.holderPublicKey,
    ),
  };
}

export const applyKey: KmHandler<ApplyKey> = {
  callers: ['ca-km'],

  check(item) {
    checkUserCertNo(item.userCertNo);
    checkEnvelopeKey(item.userPublicKey);
    checkAlgorithms(item.userCertNo, item.algorithms);
    if (!(item.notBefore < item.notAfter)) {
      throw kmRefusal('MALFORMED', `${item.userCertNo}: notBefore must come before notAfter`);
    }
  },

  async commit(client, km, call, item) {
    const { caName } = call.request;
    const holder = holderOf(call, item);
    const taken = await escrowing(caName, item.userCertNo, () =>
      client.query({ name: 'km-take-from-pool', text: takeFromPool, values: holder }),
    );
    if (taken.rows[0]) {
      if (taken.rows[0].pooled_left < km.poolLowWater) await wakeFiller(client);
      return;
    }
    km.log.warn({ caName, userCertNo: item.userCertNo }, 'the key pool is empty; generating a key inline');
    const made = await km.device.generateWrappedKeyPair(km.masterKeyLabel);
    await escrowing(caName, item.userCertNo, () =>
      client.query(escrowNew, [
        ...holder,
        Buffer.from(made.publicKey),
        Buffer.from(made.wrappedPrivateKey),
        km.masterKeyLabel,
      ]),
    );
    await wakeFiller(client);
  },

  async answer(km, call, item) {
    return retKey(km, item, await escrowOf(km, call, item.userCertNo));
  },
};

/** Sent on commit: the filler, wherever it leads, tops the pool up. */
async function wakeFiller(db: Pool | PoolClient): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [poolChannel, 'low']);
}

/** The unique index speaks for a certificate number another task already has a key for. */
async function escrowing<T>(caName: string, userCertNo: string, statement: () => Promise<T>): Promise<T> {
  try {
    return await statement();
  } catch (err) {
    const e = err as { code?: string; constraint?: string };
    if (e.code === '23505' && e.constraint === 'km_keys_certificate') {
      throw kmRefusal(
        'CERT_NO_TAKEN',
        `certificate ${userCertNo} of CA ${caName} already has an escrowed key from another task`,
        { caName, userCertNo },
      );
    }
    throw err;
  }
}

/** The escrow this task took for the certificate: what its first and every repeated answer envelopes. */
async function escrowOf(km: KmContext, call: KmCall, userCertNo: string): Promise<Escrow> {
  const { rows } = await km.pool.query({
    name: 'km-escrow-of-task',
    text: `SELECT public_key, wrapped_private_key, master_key_label, holder_public_key FROM km_keys
            WHERE ca_name = $1 AND user_cert_no = $2 AND taken_task_no = $3`,
    values: [call.request.caName, userCertNo, call.request.taskNo],
  });
  const row = rows[0];
  if (!row) throw new Error(`no escrow of task ${call.request.taskNo} for ${userCertNo}`);
  return {
    publicKey: new Uint8Array(row.public_key),
    wrappedPrivateKey: new Uint8Array(row.wrapped_private_key),
    masterKeyLabel: row.master_key_label as string,
    holderPublicKey: new Uint8Array(row.holder_public_key),
  };
}
