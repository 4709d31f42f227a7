import { randomUUID } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import {
  type Actor,
  AppError,
  allowedTo,
  type HttpServer,
  Paging,
  recordAudit,
  withExample,
} from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { DownloadCode } from './download-codes.ts';
import { auditHolderRead } from './holder-read-audit.ts';
import { freshDownloadCode } from './key-recovery-download.ts';
import {
  IdentityCheck,
  KeyRecoveryView,
  keyRecoverySelect,
  lockKeyRecovery,
  type Row,
  readKeyRecovery,
  toKeyRecoveryView,
} from './key-recovery-view.ts';
import { releaseFailed, releaseFromKm, stillApproved } from './key-release.ts';
import { actorOf, IdParams, literals, ReviewBody, requireReason } from './ra-context.ts';
import { currentSignatureCertificate, findEncryptionCertificate } from './recovery-certificates.ts';
import type { RecoveryContext } from './recovery-context.ts';
import {
  keyRecoveryExample,
  keyRecoveryRequestExample,
  releasedKeyRecoveryExample,
  reviewExample,
} from './recovery-examples.ts';
import { recoveryStatuses } from './recovery-schemas.ts';
import { auditRefusals } from './refusal-audit.ts';

const RequestBody = Type.Object(
  {
    issuerId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    serial: Type.Optional(
      Type.String({ pattern: '^[0-9A-Fa-f:]{1,64}$', description: 'the encryption certificate, hex' }),
    ),
    holderKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          "instead of issuerId + serial: the holder, whose newest good encryption certificate's key is recovered",
      }),
    ),
    identityCheck: IdentityCheck,
  },
  { additionalProperties: false },
);

/** The answer of the call that released the key: the holder's one-time download code, shown once. */
const ReleasedView = Type.Composite([
  KeyRecoveryView,
  Type.Object({ download: Type.Optional(DownloadCode) }),
]);
type ReleasedView = Static<typeof ReleasedView>;

const ListQuery = Type.Object({ status: Type.Optional(literals(recoveryStatuses)), ...Paging });

const path = '/v1/key-recoveries';

/**
 * Asks KM for the key of an approved recovery and records what came of it. Called after the
 * approval committed, and again on retry with the same task number, which KM answers alike.
 */
async function release(ctx: RecoveryContext, actor: Actor, id: string): Promise<ReleasedView> {
  const row = (await ctx.pool.query('SELECT * FROM key_recoveries WHERE id = $1', [id])).rows[0] as
    | Row
    | undefined;
  if (!row) throw new AppError('KEY_RECOVERY_NOT_FOUND', `no key recovery ${id}`, 404);
  if (row.status !== 'approved') {
    throw new AppError(
      'KEY_RECOVERY_NOT_APPROVED',
      `key recovery ${id} is ${row.status}, not approved`,
      409,
      {
        status: row.status,
      },
    );
  }
  const encryption = { issuerId: row.issuer_id as string, serial: row.serial as string };
  const recipient = { issuerId: row.recipient_issuer_id as string, serial: row.recipient_serial as string };
  let outcome: Awaited<ReturnType<typeof releaseFromKm>>;
  try {
    outcome = await releaseFromKm(ctx.pool, ctx.km, {
      taskNo: row.km_task_no as string,
      encryption,
      recipient: recipient,
    });
  } catch (err) {
    throw stillApproved(err, { keyRecoveryId: id }, `${path}/${id}/release`);
  }
  const answer = await withTransaction(ctx.pool, async (client): Promise<ReleasedView> => {
    const current = await lockKeyRecovery(client, id);
    // Another attempt recorded KM's answer first; its download code was shown to its caller.
    if (current.status !== 'approved') return readKeyRecovery(client, id);
    if ('failed' in outcome) {
      await client.query("UPDATE key_recoveries SET status = 'failed', failure = $2 WHERE id = $1", [
        id,
        JSON.stringify(outcome.failed),
      ]);
      await recordAudit(client, actor, {
        action: 'key_recovery.fail',
        subjectType: 'key_recovery',
        subjectId: id,
        before: { status: 'approved' },
        after: { status: 'failed', failure: outcome.failed },
      });
      return readKeyRecovery(client, id);
    }
    const { digest, ...download } = await freshDownloadCode(client, ctx.downloadCodeDays);
    await client.query(
      `UPDATE key_recoveries
          SET status = 'released', released_at = now(), public_key = $2, enveloped_key = $3,
              download_reference = $4, code_digest = $5, code_expires_at = $6
        WHERE id = $1`,
      [
        id,
        outcome.released.publicKey,
        outcome.released.envelopedKey,
        download.reference,
        digest,
        download.expiresAt,
      ],
    );
    await recordAudit(client, actor, {
      action: 'key_recovery.release',
      subjectType: 'key_recovery',
      subjectId: id,
      before: { status: 'approved' },
      after: { status: 'released', recipient, reference: download.reference, expiresAt: download.expiresAt },
    });
    return { ...(await readKeyRecovery(client, id)), download };
  });
  if (answer.status === 'failed' && answer.failure)
    throw releaseFailed(answer.failure, { keyRecoveryId: id });
  return answer;
}

export function registerKeyRecoveryRoutes(app: HttpServer, ctx: RecoveryContext): void {
  const onError = auditRefusals(ctx.pool, 'key_recovery');

  app.post(
    path,
    {
      config: { access: allowedTo('key_recovery.enter') },
      onError,
      schema: {
        tags: ['key recovery'],
        summary:
          "An entry clerk records a holder's request to recover their encryption key (密钥恢复), with the identity check done",
        description:
          'Names the encryption certificate (issuerId + serial) or the holder (holderKey: their newest good ' +
          'encryption certificate). The holder needs a good signature certificate: the key is enveloped to it.',
        body: withExample(RequestBody, keyRecoveryRequestExample),
        response: { 201: withExample(KeyRecoveryView, { ...keyRecoveryExample, status: 'submitted' }) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { identityCheck, ...named } = request.body;
      if (identityCheck.requester === 'agent' && !identityCheck.agentAuthorisation?.trim()) {
        throw new AppError(
          'AGENT_AUTHORISATION_REQUIRED',
          "an agent needs the holder's authorisation recorded in identityCheck.agentAuthorisation",
          400,
        );
      }
      const view = await withTransaction(ctx.pool, async (client) => {
        const certificate = await findEncryptionCertificate(client, named);
        // Told at the desk: without a signature certificate there is nothing to envelope the key to.
        await currentSignatureCertificate(client, certificate.holderKey);
        const open = await client.query(
          `SELECT id FROM key_recoveries
            WHERE issuer_id = $1 AND serial = $2 AND status IN ('submitted', 'approved')`,
          [certificate.issuerId, certificate.serial],
        );
        if (open.rows[0]) {
          throw new AppError('KEY_RECOVERY_PENDING', `key recovery ${open.rows[0].id} is open already`, 409, {
            keyRecoveryId: String(open.rows[0].id),
          });
        }
        const { rows } = await client.query(
          `INSERT INTO key_recoveries (status, issuer_id, serial, holder_key, identity_check, entered_by)
           VALUES ('submitted', $1, $2, $3, $4, $5) RETURNING id`,
          [
            certificate.issuerId,
            certificate.serial,
            certificate.holderKey,
            JSON.stringify(identityCheck),
            actor.id,
          ],
        );
        const created = await readKeyRecovery(client, String(rows[0].id));
        await recordAudit(client, actor, {
          action: 'key_recovery.submit',
          subjectType: 'key_recovery',
          subjectId: created.id,
          after: created,
        });
        return created;
      });
      return reply.status(201).send(view);
    },
  );

  app.post(
    `${path}/:id/review`,
    {
      config: { access: allowedTo('key_recovery.review') },
      onError,
      schema: {
        tags: ['key recovery'],
        summary:
          'A reviewer other than the entry clerk decides; on approval the RA asks KM at once and answers the download code',
        description:
          "On approval the key is enveloped to the holder's current signature certificate. When KM cannot be " +
          'reached the recovery stays approved (503 KM_UNAVAILABLE) and POST …/release asks again.',
        params: IdParams,
        body: withExample(ReviewBody, reviewExample),
        response: { 200: withExample(ReleasedView, releasedKeyRecoveryExample) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { id } = request.params;
      const { decision, reason } = request.body;
      requireReason(decision, reason);
      const decided = await withTransaction(ctx.pool, async (client) => {
        const row = await lockKeyRecovery(client, id);
        if (String(row.entered_by) === actor.id) {
          throw new AppError('SAME_OPERATOR', 'the operator who entered a recovery may not review it', 403);
        }
        if (row.status !== 'submitted') {
          throw new AppError('KEY_RECOVERY_DECIDED', `key recovery ${id} is already ${row.status}`, 409, {
            status: row.status,
          });
        }
        const recipient =
          decision === 'approve' ? await currentSignatureCertificate(client, row.holder_key as string) : null;
        const status = decision === 'approve' ? 'approved' : 'rejected';
        const taskNo = decision === 'approve' ? randomUUID() : null;
        await client.query(
          `UPDATE key_recoveries
              SET status = $2, reviewed_by = $3, decided_at = now(), review_reason = $4, km_task_no = $5,
                  recipient_issuer_id = $6, recipient_serial = $7
            WHERE id = $1`,
          [id, status, actor.id, reason?.trim() ?? null, taskNo, recipient?.issuerId, recipient?.serial],
        );
        await recordAudit(client, actor, {
          action: `key_recovery.${decision}`,
          subjectType: 'key_recovery',
          subjectId: id,
          before: { status: row.status },
          after: { status, reviewReason: reason?.trim() ?? null, recipient, kmTaskNo: taskNo },
        });
        return status;
      });
      if (decided === 'rejected') return readKeyRecovery(ctx.pool, id);
      return release(ctx, actor, id);
    },
  );

  app.post(
    `${path}/:id/release`,
    {
      config: { access: allowedTo('key_recovery.release') },
      onError,
      schema: {
        tags: ['key recovery'],
        summary: 'Asks KM again for the key of an approved recovery KM has not answered (same task number)',
        params: IdParams,
        response: { 200: withExample(ReleasedView, releasedKeyRecoveryExample) },
      },
    },
    async (request) => release(ctx, actorOf(request), request.params.id),
  );

  app.get(
    path,
    {
      config: { access: allowedTo('key_recovery.read') },
      schema: {
        tags: ['key recovery'],
        summary: 'Key recoveries, newest first',
        querystring: ListQuery,
        response: {
          200: withExample(Type.Object({ items: Type.Array(KeyRecoveryView) }), {
            items: [keyRecoveryExample],
          }),
        },
      },
    },
    async (request) => {
      const { status, limit, offset } = request.query;
      const { rows } = await ctx.pool.query(
        `${keyRecoverySelect} WHERE ($1::text IS NULL OR k.status = $1) ORDER BY k.id DESC LIMIT $2 OFFSET $3`,
        [status ?? null, limit, offset],
      );
      return { items: await auditHolderRead(ctx.pool, request, rows.map(toKeyRecoveryView)) };
    },
  );

  app.get(
    `${path}/:id`,
    {
      config: { access: allowedTo('key_recovery.read') },
      schema: {
        tags: ['key recovery'],
        params: IdParams,
        response: { 200: withExample(KeyRecoveryView, keyRecoveryExample) },
      },
    },
    async (request) => {
      const [view] = await auditHolderRead(ctx.pool, request, [
        await readKeyRecovery(ctx.pool, request.params.id),
      ]);
      return view;
    },
  );
}
