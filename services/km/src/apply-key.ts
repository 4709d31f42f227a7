import type { KmRequestItem } from '@sm2ca/pki';
import type { PoolClient } from '@sm2ca/store';
import { checkAlgorithms, checkEnvelopeKey, checkUserCertNo } from './item-checks.ts';
import type { KmCall, KmContext, KmHandler } from './km-context.ts';
import { kmRefusal } from './km-refusal.ts';
import { poolChannel } from './pool-filler.ts';

type ApplyKey = Extract<KmRequestItem, { kind: 'applyKey' }>;

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
    const { caName, taskNo } = call.request;
    const holder = [
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
    const escrow = await escrowOf(km, call, item.userCertNo);
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
  },
};

/** Sent on commit: the filler, wherever it leads, tops the pool up. */
async function wakeFiller(client: PoolClient): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [poolChannel, 'low']);
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
async function escrowOf(km: KmContext, call: KmCall, userCertNo: string) {
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
