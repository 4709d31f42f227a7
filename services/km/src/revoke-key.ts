import type { KmRequestItem } from '@sm2ca/pki';
import { checkUserCertNo } from './item-checks.ts';
import type { KmHandler } from './km-context.ts';
import { kmRefusal } from './km-refusal.ts';
import { unknownKey } from './restore-key.ts';

type RevokeKey = Extract<KmRequestItem, { kind: 'revokeKey' }>;

/** The escrow follows its certificate; the state change and its audit record are one statement. */
const markRevoked = `
  WITH revoked AS (
    UPDATE km_keys SET state = 'revoked', state_changed_at = now()
     WHERE id = $1 AND state IN ('current', 'expired')
    RETURNING id
  )
  INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, before, after)
  SELECT $2, $3, 'km.key.revoke', 'km_key', id::text, $4, $5 FROM revoked`;

/**
 * The encryption certificate was revoked (RevokeKeyReq from the CA): its escrow is marked so.
 * A revoked escrow stays revoked (the CA's retries of the revocation change nothing), an expired
 * one is marked revoked since that says more, and an archived one is closed: KEY_NOT_CURRENT.
 */
export const revokeKey: KmHandler<RevokeKey> = {
  callers: ['ca-km'],

  check(item) {
    checkUserCertNo(item.userCertNo);
  },

  async commit(client, _km, call, item) {
    const { caName, taskNo } = call.request;
    const { rows } = await client.query({
      name: 'km-revoke-escrow',
      text: 'SELECT id, state FROM km_keys WHERE ca_name = $1 AND user_cert_no = $2 FOR UPDATE',
      values: [caName, item.userCertNo],
    });
    const escrow = rows[0];
    if (!escrow) throw unknownKey(caName, item.userCertNo);
    if (escrow.state === 'archived') {
      throw kmRefusal(
        'KEY_NOT_CURRENT',
        `the key of certificate ${item.userCertNo} of CA ${caName} is archived; it changes no more`,
        { caName, userCertNo: item.userCertNo, state: escrow.state },
      );
    }
    await client.query({
      name: 'km-mark-revoked',
      text: markRevoked,
      values: [
        escrow.id,
        call.actor.name,
        call.actor.role,
        JSON.stringify({ state: escrow.state }),
        JSON.stringify({ state: 'revoked', caName, userCertNo: item.userCertNo, taskNo }),
      ],
    });
  },

  async answer(_km, _call, item) {
    return { kind: 'revokeKey', userCertNo: item.userCertNo };
  },
};
