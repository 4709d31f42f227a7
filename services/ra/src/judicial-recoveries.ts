import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
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
import {
  Authorisation,
  approvalsNeeded,
  JudicialRecoveryView,
  judicialSelect,
  lockJudicialRecovery,
  type Row,
  readJudicialRecovery,
  toJudicialView,
} from './judicial-recovery-view.ts';
import { releaseFailed, releaseFromKm, stillApproved } from './key-release.ts';
import { actorOf, IdParams, literals, ReviewBody, requireReason } from './ra-context.ts';
import {
  findEncryptionCertificate,
  requireGoodSignatureCertificate,
  requireOfficersOwn,
  storedSerial,
} from './recovery-certificates.ts';
import type { RecoveryContext } from './recovery-context.ts';
import {
  judicialRecoveryExample,
  judicialRequestExample,
  releasedKeyExample,
  reviewExample,
} from './recovery-examples.ts';
import { CertificateRefSchema, ReleasedKey, recoveryStatuses } from './recovery-schemas.ts';
import { auditRefusals } from './refusal-audit.ts';
import { releasedKeyOf } from './released-key.ts';

const RequestBody = Type.Object(
  {
    issuerId: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'issuer of the encryption certificate',
    }),
    serial: Type.String({
      pattern: '^[0-9A-Fa-f:]{1,64}$',
      description: 'the encryption certificate whose key the court ordered released, hex',
    }),
    authorisation: Authorisation,
    officerCertificate: Type.Object(CertificateRefSchema.properties, {
      description: "the officer's own signature certificate from this CA: the key is enveloped to it",
      additionalProperties: false,
    }),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object({ status: Type.Optional(literals(recoveryStatuses)), ...Paging });

const path = '/v1/judicial-recoveries';
const officerCertificateCode = 'OFFICER_CERTIFICATE_NOT_GOOD';

/** A judicial officer sees only the cases they recorded; key administrators and auditors see all. */
function ownCasesOnly(actor: Actor & { id: string }): string | null {
  return actor.role === 'judicial_officer' ? actor.id : null;
}

/** Asks KM for the key of an approved case, enveloped to the officer's certificate key. */
async function release(ctx: RecoveryContext, actor: Actor, id: string): Promise<JudicialRecoveryView> {
  const row = (await ctx.pool.query('SELECT * FROM judicial_recoveries WHERE id = $1', [id])).rows[0] as
    | Row
    | undefined;
  if (!row) throw new AppError('JUDICIAL_RECOVERY_NOT_FOUND', `no judicial recovery ${id}`, 404);
  if (row.status === 'submitted') {
    throw new AppError(
      'APPROVALS_MISSING',
      `judicial recovery ${id} needs ${approvalsNeeded} current approvals by key administrators first`,
      409,
      { status: row.status },
    );
  }
  if (row.status !== 'approved') {
    throw new AppError('JUDICIAL_RECOVERY_NOT_APPROVED', `judicial recovery ${id} is ${row.status}`, 409, {
      status: row.status,
    });
  }
  const encryption = { issuerId: row.issuer_id as string, serial: row.serial as string };
  const officer = { issuerId: row.officer_issuer_id as string, serial: row.officer_serial as string };
  let outcome: Awaited<ReturnType<typeof releaseFromKm>>;
  try {
    outcome = await releaseFromKm(ctx.pool, ctx.km, {
      taskNo: row.km_task_no as string,
      encryption,
      recipient: officer,
    });
  } catch (err) {
    throw stillApproved(err, { judicialRecoveryId: id }, `${path}/${id}/release`);
  }
  const view = await withTransaction(ctx.pool, async (client) => {
    const current = await lockJudicialRecovery(client, id);
    if (current.status === 'approved') {
      const failed = 'failed' in outcome ? outcome.failed : null;
      await client.query(
        `UPDATE judicial_recoveries
            SET status = $2, failure = $3, released_at = CASE WHEN $3::jsonb IS NULL THEN now() END,
                public_key = $4, enveloped_key = $5
          WHERE id = $1`,
        [
          id,
          failed ? 'failed' : 'released',
          failed && JSON.stringify(failed),
          'released' in outcome ? outcome.released.publicKey : null,
          'released' in outcome ? outcome.released.envelopedKey : null,
        ],
      );
      await recordAudit(client, actor, {
        action: failed ? 'judicial_recovery.fail' : 'judicial_recovery.release',
        subjectType: 'judicial_recovery',
        subjectId: id,
        before: { status: 'approved' },
        after: failed ? { status: 'failed', failure: failed } : { status: 'released', recipient: officer },
      });
    }
    return readJudicialRecovery(client, id, ctx.judicialApprovalHours);
  });
  if (view.status === 'failed' && view.failure) throw releaseFailed(view.failure, { judicialRecoveryId: id });
  return view;
}

export function registerJudicialRecoveryRoutes(app: HttpServer, ctx: RecoveryContext): void {
  const onError = auditRefusals(ctx.pool, 'judicial_recovery');
  const hours = ctx.judicialApprovalHours;

  app.post(
    path,
    {
      config: { access: allowedTo('judicial_recovery.request') },
      onError,
      schema: {
        tags: ['judicial recovery'],
        summary: "A judicial officer records a court's authorisation to recover an encryption key (司法恢复)",
        description:
          'The key is released only after two different key administrators approve within the approval ' +
          `lifetime (SM2CA_JUDICIAL_APPROVAL_HOURS, default 72 h), enveloped to the officer's own signature ` +
          'certificate, which must be good; only the officer who recorded the case downloads it.',
        body: withExample(RequestBody, judicialRequestExample),
        response: {
          201: withExample(JudicialRecoveryView, {
            ...judicialRecoveryExample,
            status: 'submitted',
            decisions: [],
            decidedAt: null,
            releasedAt: null,
          }),
        },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { authorisation } = request.body;
      const officer = {
        issuerId: request.body.officerCertificate.issuerId,
        serial: storedSerial(request.body.officerCertificate.serial),
      };
      const view = await withTransaction(ctx.pool, async (client) => {
        const certificate = await findEncryptionCertificate(client, {
          issuerId: request.body.issuerId,
          serial: request.body.serial,
        });
        await requireGoodSignatureCertificate(client, officer, officerCertificateCode);
        await requireOfficersOwn(client, officer, authorisation.officerDocument.documentNumber);
        const { rows } = await client.query(
          `INSERT INTO judicial_recoveries
             (status, issuer_id, serial, authorisation, officer_issuer_id, officer_serial, entered_by)
           VALUES ('submitted', $1, $2, $3, $4, $5, $6) RETURNING id`,
          [
            certificate.issuerId,
            certificate.serial,
            JSON.stringify(authorisation),
            officer.issuerId,
            officer.serial,
            actor.id,
          ],
        );
        const created = await readJudicialRecovery(client, String(rows[0].id), hours);
        await recordAudit(client, actor, {
          action: 'judicial_recovery.submit',
          subjectType: 'judicial_recovery',
          subjectId: created.id,
          after: created,
        });
        return created;
      });
      return reply.status(201).send(view);
    },
  );

  app.post(
    `${path}/:id/decisions`,
    {
      config: { access: allowedTo('judicial_recovery.decide') },
      onError,
      schema: {
        tags: ['judicial recovery'],
        summary:
          'A key administrator approves or rejects; the second current approval releases the key at once',
        description:
          'Nobody decides twice (409 APPROVAL_DUPLICATE) unless their approval has expired, when it is renewed; ' +
          'one rejection ends the case. When KM cannot be reached the case stays approved and POST …/release asks again.',
        params: IdParams,
        body: withExample(ReviewBody, reviewExample),
        response: { 200: withExample(JudicialRecoveryView, judicialRecoveryExample) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { id } = request.params;
      const { decision, reason } = request.body;
      requireReason(decision, reason);
      const status = await withTransaction(ctx.pool, async (client) => {
        const row = await lockJudicialRecovery(client, id);
        if (String(row.entered_by) === actor.id) {
          throw new AppError('SAME_OPERATOR', 'the officer who recorded a case may not decide it', 403);
        }
        if (row.status !== 'submitted') {
          throw new AppError(
            'JUDICIAL_RECOVERY_DECIDED',
            `judicial recovery ${id} is already ${row.status}`,
            409,
            {
              status: row.status,
            },
          );
        }
        const earlier = await client.query(
          `SELECT decided_at > now() - make_interval(hours => $3) AS live
             FROM judicial_recovery_decisions WHERE recovery_id = $1 AND operator_id = $2`,
          [id, actor.id, hours],
        );
        if (earlier.rows[0]?.live) {
          throw new AppError(
            'APPROVAL_DUPLICATE',
            `you approved judicial recovery ${id} already; another key administrator must decide`,
            409,
          );
        }
        if (decision === 'approve') {
          await requireGoodSignatureCertificate(
            client,
            { issuerId: row.officer_issuer_id as string, serial: row.officer_serial as string },
            officerCertificateCode,
          );
        }
        await client.query(
          `INSERT INTO judicial_recovery_decisions (recovery_id, operator_id, decision, reason)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (recovery_id, operator_id)
             DO UPDATE SET decision = EXCLUDED.decision, reason = EXCLUDED.reason, decided_at = now()`,
          [id, actor.id, decision, reason?.trim() ?? null],
        );
        const live = await client.query(
          `SELECT count(*)::int AS n FROM judicial_recovery_decisions
            WHERE recovery_id = $1 AND decision = 'approve' AND decided_at > now() - make_interval(hours => $2)`,
          [id, hours],
        );
        const approvals = live.rows[0].n as number;
        const next =
          decision === 'reject' ? 'rejected' : approvals >= approvalsNeeded ? 'approved' : 'submitted';
        const taskNo = next === 'approved' ? randomUUID() : null;
        if (next !== 'submitted') {
          await client.query(
            'UPDATE judicial_recoveries SET status = $2, decided_at = now(), km_task_no = $3 WHERE id = $1',
            [id, next, taskNo],
          );
        }
        await recordAudit(client, actor, {
          action: `judicial_recovery.${decision}`,
          subjectType: 'judicial_recovery',
          subjectId: id,
          before: { status: row.status },
          after: {
            status: next,
            reason: reason?.trim() ?? null,
            currentApprovals: approvals,
            renewed: earlier.rows.length > 0,
            kmTaskNo: taskNo,
          },
        });
        return next;
      });
      if (status !== 'approved') return readJudicialRecovery(ctx.pool, id, hours);
      return release(ctx, actor, id);
    },
  );

  app.post(
    `${path}/:id/release`,
    {
      config: { access: allowedTo('judicial_recovery.release') },
      onError,
      schema: {
        tags: ['judicial recovery'],
        summary: 'Asks KM again for the key of an approved case KM has not answered (same task number)',
        params: IdParams,
        response: { 200: withExample(JudicialRecoveryView, judicialRecoveryExample) },
      },
    },
    async (request) => release(ctx, actorOf(request), request.params.id),
  );

  app.post(
    `${path}/:id/download`,
    {
      config: { access: allowedTo('judicial_recovery.download') },
      onError,
      schema: {
        tags: ['judicial recovery'],
        summary:
          'The officer who recorded the case fetches the released key once, enveloped to their certificate',
        params: IdParams,
        response: { 200: withExample(ReleasedKey, releasedKeyExample) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { id } = request.params;
      return withTransaction(ctx.pool, async (client) => {
        const row = await lockJudicialRecovery(client, id);
        if (String(row.entered_by) !== actor.id) {
          throw new AppError(
            'NOT_CASE_OFFICER',
            'only the officer who recorded the case may download it',
            403,
          );
        }
        if (row.status === 'downloaded') {
          throw new AppError(
            'KEY_ALREADY_DOWNLOADED',
            `the key of judicial recovery ${id} was fetched already`,
            410,
          );
        }
        if (row.status !== 'released') {
          throw new AppError('KEY_NOT_RELEASED', `judicial recovery ${id} is ${row.status}`, 409, {
            status: row.status,
          });
        }
        const officer = { issuerId: row.officer_issuer_id as string, serial: row.officer_serial as string };
        await requireGoodSignatureCertificate(client, officer, officerCertificateCode);
        await client.query(
          "UPDATE judicial_recoveries SET status = 'downloaded', downloaded_at = now() WHERE id = $1",
          [id],
        );
        await recordAudit(client, actor, {
          action: 'judicial_recovery.download',
          subjectType: 'judicial_recovery',
          subjectId: id,
          before: { status: 'released' },
          after: { status: 'downloaded' },
        });
        return releasedKeyOf(client, {
          id,
          ...{ issuerId: row.issuer_id as string, serial: row.serial as string },
          publicKey: row.public_key as Buffer,
          envelopedKey: row.enveloped_key as Buffer,
          recipient: officer,
        });
      });
    },
  );

  app.get(
    path,
    {
      config: { access: allowedTo('judicial_recovery.read') },
      schema: {
        tags: ['judicial recovery'],
        summary: 'Judicial recoveries, newest first; a judicial officer sees their own',
        querystring: ListQuery,
        response: {
          200: withExample(Type.Object({ items: Type.Array(JudicialRecoveryView) }), {
            items: [judicialRecoveryExample],
          }),
        },
      },
    },
    async (request) => {
      const { status, limit, offset } = request.query;
      const { rows } = await ctx.pool.query(
        `${judicialSelect}
          WHERE ($1::text IS NULL OR j.status = $1) AND ($5::bigint IS NULL OR j.entered_by = $5)
          ORDER BY j.id DESC LIMIT $3 OFFSET $4`,
        [status ?? null, hours, limit, offset, ownCasesOnly(actorOf(request))],
      );
      return { items: rows.map(toJudicialView) };
    },
  );

  app.get(
    `${path}/:id`,
    {
      config: { access: allowedTo('judicial_recovery.read') },
      schema: {
        tags: ['judicial recovery'],
        params: IdParams,
        response: { 200: withExample(JudicialRecoveryView, judicialRecoveryExample) },
      },
    },
    async (request) =>
      readJudicialRecovery(ctx.pool, request.params.id, hours, ownCasesOnly(actorOf(request))),
  );
}
