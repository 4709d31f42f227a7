import { createHash } from 'node:crypto';
import type { KmRequestItem } from '@sm2ca/pki';
import { recordAudit } from '@sm2ca/platform';
import { checkAlgorithms, checkEnvelopeKey, checkUserCertNo } from './item-checks.ts';
import type { KmHandler } from './km-context.ts';
import { kmRefusal } from './km-refusal.ts';

type RestoreKey = Extract<KmRequestItem, { kind: 'restoreKey' }>;

/**
 * Key recovery: the escrowed key enveloped to the key the RA names (the holder's current
 * signature key, or a judicial officer's). The RA has checked the approvals; the KM checks that
 * the RA signed. Every escrow state counts — a revoked, expired or archived key is exactly the
 * one that old data was encrypted under — except 'pooled', which no holder ever had.
 */
export const restoreKey: KmHandler<RestoreKey> = {
  callers: ['ra'],

  check(item) {
    checkUserCertNo(item.userCertNo);
    checkEnvelopeKey(item.userPublicKey);
    checkAlgorithms(item.userCertNo, item.algorithms);
  },

  async commit(client, _km, call, item) {
    const { caName, taskNo } = call.request;
    const { rows } = await client.query({
      name: 'km-restore-escrow',
      text: `SELECT id, state FROM km_keys WHERE ca_name = $1 AND user_cert_no = $2`,
      values: [caName, item.userCertNo],
    });
    const escrow = rows[0];
    if (!escrow) throw unknownKey(caName, item.userCertNo);
    // Who got the key, to whom it went, under which task: the record a recovery is audited by.
    await recordAudit(client, call.actor, {
      action: 'km.key.restore',
      subjectType: 'km_key',
      subjectId: String(escrow.id),
      after: {
        caName,
        userCertNo: item.userCertNo,
        taskNo,
        state: escrow.state,
        callerSerial: call.caller.serial,
        envelopedToSm3: createHash('sm3').update(item.userPublicKey).digest('hex'),
      },
    });
  },

  async answer(km, call, item) {
    const { rows } = await km.pool.query({
      name: 'km-restore-key',
      text: `SELECT public_key, wrapped_private_key, master_key_label FROM km_keys
              WHERE ca_name = $1 AND user_cert_no = $2`,
      values: [call.request.caName, item.userCertNo],
    });
    const escrow = rows[0];
    if (!escrow) throw unknownKey(call.request.caName, item.userCertNo);
    return {
      kind: 'restoreKey',
      userCertNo: item.userCertNo,
      publicKey: new Uint8Array(escrow.public_key),
      envelopedKey: await km.device.envelopeWrappedKey(
        escrow.master_key_label,
        new Uint8Array(escrow.wrapped_private_key),
        item.userPublicKey,
      ),
    };
  },
};

export function unknownKey(caName: string, userCertNo: string) {
  return kmRefusal('KEY_UNKNOWN', `no key is escrowed for certificate ${userCertNo} of CA ${caName}`, {
    caName,
    userCertNo,
  });
}
