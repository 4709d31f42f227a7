import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { AppError, type HttpServer, recordAudit } from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { lockApplication } from './application-view.ts';
import { createDownloadCode, DownloadCode } from './download-codes.ts';
import { vetHolder } from './holder-identity.ts';
import { actorOf, IdParams, type RaContext } from './ra-context.ts';

const Issued = Type.Object({
  applicationId: Type.String(),
  issuerId: Type.String(),
  serial: Type.String(),
  download: DownloadCode,
});

function alreadyIssued(id: string): AppError {
  return new AppError('APPLICATION_ALREADY_ISSUED', `application ${id} is issued already`, 409);
}

export function registerIssuanceRoutes(app: HttpServer, ctx: RaContext): void {
  app.post(
    '/v1/applications/:id/issue',
    {
      config: { access: ['certificate_maker'] },
      schema: {
        tags: ['applications'],
        summary:
          'A certificate maker has the CA issue an approved application; answers the download code, shown only here',
        params: IdParams,
        response: { 201: Issued },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { id } = request.params;
      // The request id is committed before the CA is called, so a retry after a
      // crash or timeout asks the CA for the same certificate, not a second one.
      const { row: approved, caRequestId } = await withTransaction(ctx.pool, async (client) => {
        const row = await lockApplication(client, id);
        if (row.status === 'issued') throw alreadyIssued(id);
        if (row.status !== 'approved') {
          throw new AppError(
            'APPLICATION_NOT_APPROVED',
            `application ${id} is ${row.status}, not approved`,
            409,
            {
              status: row.status,
            },
          );
        }
        if (row.ca_request_id) return { row, caRequestId: row.ca_request_id };
        const caRequestId = randomUUID();
        await client.query('UPDATE applications SET ca_request_id = $2 WHERE id = $1', [id, caRequestId]);
        await recordAudit(client, actor, {
          action: 'application.issue_request',
          subjectType: 'application',
          subjectId: id,
          after: { caRequestId },
        });
        return { row, caRequestId };
      });
      const { instruction } = vetHolder(approved.holder_type, approved.profile, approved.holder);
      const answer = await ctx.ca.issue({
        requestId: caRequestId,
        profile: approved.profile,
        holderKey: approved.holder_key,
        csr: approved.csr.toString('base64'),
        ...instruction,
      });
      const result = await withTransaction(ctx.pool, async (client) => {
        const row = await lockApplication(client, id);
        if (row.status === 'issued') throw alreadyIssued(id);
        await client.query(
          `UPDATE applications SET status = 'issued', issued_by = $2, issued_at = now(), issuer_id = $3, serial = $4
            WHERE id = $1`,
          [id, actor.id, answer.issuerId, answer.serial],
        );
        await recordAudit(client, actor, {
          action: 'application.issue',
          subjectType: 'application',
          subjectId: id,
          before: { status: row.status },
          after: { status: 'issued', issuerId: answer.issuerId, serial: answer.serial },
        });
        const download = await createDownloadCode(client, actor, id, ctx.downloadCodeDays);
        return { applicationId: id, issuerId: answer.issuerId, serial: answer.serial, download };
      });
      return reply.status(201).send(result);
    },
  );

  app.post(
    '/v1/applications/:id/download-code',
    {
      config: { access: ['certificate_maker'] },
      schema: {
        tags: ['applications'],
        summary:
          "A certificate maker hands out a new download code for an issued application; the holder's unused codes stop working",
        params: IdParams,
        response: { 201: DownloadCode },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { id } = request.params;
      const download = await withTransaction(ctx.pool, async (client) => {
        const row = await lockApplication(client, id);
        if (row.status !== 'issued') {
          throw new AppError(
            'APPLICATION_NOT_ISSUED',
            `application ${id} is ${row.status}, not issued`,
            409,
            {
              status: row.status,
            },
          );
        }
        const withdrawn = await client.query(
          `UPDATE download_codes SET expires_at = now()
            WHERE application_id = $1 AND used_at IS NULL AND expires_at > now() RETURNING reference`,
          [id],
        );
        if (withdrawn.rows.length > 0) {
          await recordAudit(client, actor, {
            action: 'download_code.withdraw',
            subjectType: 'application',
            subjectId: id,
            after: { references: withdrawn.rows.map((r) => r.reference) },
          });
        }
        return createDownloadCode(client, actor, id, ctx.downloadCodeDays);
      });
      return reply.status(201).send(download);
    },
  );
}
