import { Type } from '@sinclair/typebox';
import { type HttpServer, Paging, recordAudit, withExample } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import { certificateExample } from './api-examples.ts';
import { CertificateView, certificateSelect, toCertificateView } from './certificate-view.ts';
import { checkReference } from './download-codes.ts';

const HolderQuery = Type.Object(
  {
    reference: Type.String({
      pattern: '^[0-9]{12}$',
      description: 'the reference number of any of the holder’s download codes',
    }),
    code: Type.String({ minLength: 1, maxLength: 64, description: 'its authorisation code' }),
    ...Paging,
  },
  { additionalProperties: false },
);

/**
 * Holders look up their own certificates (current, frozen, revoked, archived) with a reference
 * number and its authorisation code: the receipt they were given. The code keeps working for
 * this after it was used for the download or ran out, since it only shows the holder's own
 * certificates; a wrong code counts towards the same lockout as a download.
 */
export function registerHolderCertificateRoutes(app: HttpServer, ctx: { pool: Pool }): void {
  app.post(
    '/v1/holder/certificates',
    {
      config: { access: 'public' },
      schema: {
        tags: ['holders'],
        summary: 'A holder lists their own certificates with a reference number and its authorisation code',
        body: withExample(HolderQuery, {
          reference: '664457376483',
          code: 'DNJD-BM6N-RYC4-5W4B',
          limit: 100,
          offset: 0,
        }),
        response: {
          200: withExample(Type.Object({ items: Type.Array(CertificateView) }), {
            items: [certificateExample],
          }),
        },
      },
    },
    async (request) => {
      const { reference, code, limit, offset } = request.body;
      // A refusal that counted a failed attempt must commit that count before it is reported.
      const outcome = await withTransaction(ctx.pool, async (client) => {
        const checked = await checkReference(client, reference, code);
        if ('refused' in checked) return checked;
        const { rows } = await client.query(
          `${certificateSelect} AND coalesce(c.holder_key, a.holder_key) = $1
            ORDER BY c.planned_at DESC, c.serial LIMIT $2 OFFSET $3`,
          [checked.row.holder_key, limit, offset],
        );
        await recordAudit(
          client,
          { name: `holder:${reference}`, role: 'holder' },
          {
            action: 'holder.certificates.query',
            subjectType: 'download_code',
            subjectId: reference,
            after: { holderKey: checked.row.holder_key, count: rows.length },
          },
        );
        return { items: rows.map(toCertificateView) };
      });
      if ('refused' in outcome) throw outcome.refused;
      return outcome;
    },
  );
}
