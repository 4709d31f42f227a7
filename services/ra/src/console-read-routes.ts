import { Type } from '@sinclair/typebox';
import { allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { applicationExample } from './api-examples.ts';
import { ApplicationView, applicationSelect, toApplicationView } from './application-view.ts';
import { loginProfile } from './login-certificates.ts';
import { iso, Time } from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';

const LatestCrl = Type.Object({
  issuerId: Type.String(),
  kind: Type.String({ description: 'full or delta' }),
  crlNumber: Type.String(),
  thisUpdate: Time,
  nextUpdate: Time,
  ageSeconds: Type.Number({ description: 'now − thisUpdate by the database clock' }),
  late: Type.Boolean({ description: 'nextUpdate has passed and no newer CRL is archived' }),
});

/**
 * Two reads the console needs and no other route gives: the newest CRL per issuer (the dashboard's
 * CRL age; the CRL service archives them in the shared database) and the operator-certificate
 * applications waiting for a super admin, who may not read the business queue.
 */
export function registerConsoleReadRoutes(app: HttpServer, pool: Pool): void {
  app.get(
    '/v1/evidence/crls/latest',
    {
      config: { access: allowedTo('evidence.read') },
      schema: {
        tags: ['evidence'],
        summary: 'The newest archived CRL of each issuer, full and delta, with its age',
        response: {
          200: withExample(Type.Object({ items: Type.Array(LatestCrl) }), {
            items: [
              {
                issuerId: 'sub',
                kind: 'full',
                crlNumber: '412',
                thisUpdate: '2026-12-03T08:00:00.000Z',
                nextUpdate: '2026-12-04T08:00:00.000Z',
                ageSeconds: 1800,
                late: false,
              },
            ],
          }),
        },
      },
    },
    async () => {
      const { rows } = await pool.query(
        `SELECT DISTINCT ON (issuer_id, kind) issuer_id, kind, crl_number, this_update, next_update,
                extract(epoch FROM now() - this_update)::float8 AS age, next_update < now() AS late
           FROM crls ORDER BY issuer_id, kind, crl_number DESC`,
      );
      return {
        items: rows.map((row) => ({
          issuerId: row.issuer_id as string,
          kind: row.kind as string,
          crlNumber: String(row.crl_number),
          thisUpdate: iso(row.this_update) as string,
          nextUpdate: iso(row.next_update) as string,
          ageSeconds: Math.max(0, row.age as number),
          late: row.late as boolean,
        })),
      };
    },
  );

  app.get(
    '/v1/admin/operator-certificates/applications',
    {
      config: { access: allowedTo('operator_certificate.read') },
      onError: auditRefusals(pool, 'application'),
      schema: {
        tags: ['administration'],
        summary:
          "Submitted applications, renewals and re-keys of operators' own certificates, oldest first: a super admin decides them",
        response: {
          200: withExample(Type.Object({ items: Type.Array(ApplicationView) }), {
            items: [{ ...applicationExample, profile: loginProfile, operatorId: '7' }],
          }),
        },
      },
    },
    async () => {
      const { rows } = await pool.query(
        `${applicationSelect} WHERE a.profile = $1 AND a.status = 'submitted' ORDER BY a.id LIMIT 500`,
        [loginProfile],
      );
      return { items: rows.map(toApplicationView) };
    },
  );
}
