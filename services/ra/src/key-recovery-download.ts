import { timingSafeEqual } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import {
  type Actor,
  AppError,
  allowedTo,
  credentialDigest,
  type HttpServer,
  recordAudit,
  withExample,
} from '@sm2ca/platform';
import { type PoolClient, withTransaction } from '@sm2ca/store';
import {
  canonicalCode,
  DownloadCode,
  maxFailedAttempts,
  newDownloadCode,
  unknownReferenceDigest,
} from './download-codes.ts';
import { lockKeyRecovery } from './key-recovery-view.ts';
import { actorOf, IdParams } from './ra-context.ts';
import type { RecoveryContext } from './recovery-context.ts';
import { downloadCodeExample, keyRecoveryDownloadExample, releasedKeyExample } from './recovery-examples.ts';
import { ReleasedKey } from './recovery-schemas.ts';
import { auditRefusals } from './refusal-audit.ts';
import { releasedKeyOf } from './released-key.ts';

/** A reference no other recovery holds, in the caller's transaction. */
export async function freshDownloadCode(client: PoolClient, days: number) {
  for (;;) {
    const code = newDownloadCode(days);
    const taken = await client.query('SELECT 1 FROM key_recoveries WHERE download_reference = $1', [
      code.reference,
    ]);
    if (!taken.rows[0]) return code;
  }
}

const DownloadBody = Type.Object(
  {
    reference: Type.String({ pattern: '^[0-9]{12}$' }),
    code: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

type Outcome = { ok: Static<typeof ReleasedKey> } | { refused: AppError };

/**
 * The download code rules of certificates (one use, expiry, lockout after wrong codes), for a
 * released key. Every refusal is audited here and committed with its count.
 */
async function redeem(client: PoolClient, reference: string, code: string): Promise<Outcome> {
  const holder: Actor = { name: `holder:${reference}`, role: 'holder' };
  const { rows } = await client.query(
    'SELECT * FROM key_recoveries WHERE download_reference = $1 FOR UPDATE',
    [reference],
  );
  const row = rows[0];
  // As for certificates (download-codes.ts): unknown reference, wrong code and locked reference
  // answer alike, after the same statements.
  const given = credentialDigest(canonicalCode(code));
  const right = timingSafeEqual(given, row?.code_digest ?? unknownReferenceDigest);
  const failed = row ? Math.min(row.code_failed_attempts + 1, maxFailedAttempts) : 0;
  const refuse = async (error: AppError, after: Record<string, unknown> = {}): Promise<Outcome> => {
    await recordAudit(client, holder, {
      action: 'key_recovery.download_refuse',
      subjectType: 'key_recovery',
      subjectId: row ? String(row.id) : `reference:${reference}`,
      after: { code: error.code, ...after },
    });
    return { refused: error };
  };
  if (!row || !right) {
    await client.query('UPDATE key_recoveries SET code_failed_attempts = $2 WHERE download_reference = $1', [
      reference,
      failed,
    ]);
    return refuse(
      new AppError(
        'DOWNLOAD_CODE_INVALID',
        'the reference number or authorisation code is wrong, or too many wrong codes locked it',
        403,
      ),
      { failedAttempts: row ? failed : null },
    );
  }
  if (row.code_failed_attempts >= maxFailedAttempts) {
    return refuse(
      new AppError('DOWNLOAD_CODE_LOCKED', 'too many wrong codes for this reference; ask the RA again', 403),
    );
  }
  if (row.status !== 'released') {
    return refuse(new AppError('DOWNLOAD_CODE_USED', 'this code was used already', 410));
  }
  if (row.code_expires_at.getTime() <= Date.now()) {
    return refuse(new AppError('DOWNLOAD_CODE_EXPIRED', 'this code has expired; ask the RA again', 410));
  }
  await client.query("UPDATE key_recoveries SET status = 'downloaded', downloaded_at = now() WHERE id = $1", [
    row.id,
  ]);
  await recordAudit(client, holder, {
    action: 'key_recovery.download',
    subjectType: 'key_recovery',
    subjectId: String(row.id),
    before: { status: 'released' },
    after: { status: 'downloaded' },
  });
  return {
    ok: await releasedKeyOf(client, {
      id: String(row.id),
      issuerId: row.issuer_id,
      serial: row.serial,
      publicKey: row.public_key,
      envelopedKey: row.enveloped_key,
      recipient: { issuerId: row.recipient_issuer_id, serial: row.recipient_serial },
    }),
  };
}

export function registerKeyRecoveryDownloadRoute(app: HttpServer, ctx: RecoveryContext): void {
  app.post(
    '/v1/key-recoveries/download',
    {
      config: { access: 'public' },
      schema: {
        tags: ['holders'],
        summary:
          'A holder fetches their recovered encryption key once, enveloped to their signature key, with the reference and code',
        body: withExample(DownloadBody, keyRecoveryDownloadExample),
        response: { 200: withExample(ReleasedKey, releasedKeyExample) },
      },
    },
    async (request) => {
      const { reference, code } = request.body;
      // A refusal that counted a failed attempt must commit that count before it is reported.
      const outcome = await withTransaction(ctx.pool, (client) => redeem(client, reference, code));
      if ('refused' in outcome) throw outcome.refused;
      return outcome.ok;
    },
  );

  app.post(
    '/v1/key-recoveries/:id/download-code',
    {
      config: { access: allowedTo('key_recovery.renew_download_code') },
      onError: auditRefusals(ctx.pool, 'key_recovery'),
      schema: {
        tags: ['key recovery'],
        summary:
          'A certificate maker hands out a new download code for a released key the holder has not fetched; the old code stops working',
        params: IdParams,
        response: { 201: withExample(DownloadCode, downloadCodeExample) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { id } = request.params;
      const download = await withTransaction(ctx.pool, async (client) => {
        const row = await lockKeyRecovery(client, id);
        if (row.status !== 'released') {
          throw new AppError('KEY_RECOVERY_NOT_RELEASED', `key recovery ${id} is ${row.status}`, 409, {
            status: row.status,
          });
        }
        const { digest, ...fresh } = await freshDownloadCode(client, ctx.downloadCodeDays);
        await client.query(
          `UPDATE key_recoveries
              SET download_reference = $2, code_digest = $3, code_expires_at = $4, code_failed_attempts = 0
            WHERE id = $1`,
          [id, fresh.reference, digest, fresh.expiresAt],
        );
        await recordAudit(client, actor, {
          action: 'key_recovery.download_code',
          subjectType: 'key_recovery',
          subjectId: id,
          before: { reference: row.download_reference },
          after: { reference: fresh.reference, expiresAt: fresh.expiresAt },
        });
        return fresh;
      });
      return reply.status(201).send(download);
    },
  );
}
