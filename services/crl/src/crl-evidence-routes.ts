import { Type } from '@sinclair/typebox';
import { allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import type { CaIssuerDirectory } from './ca-issuers.ts';
import { crlCycleSeconds, crlEvidence } from './crl-evidence.ts';

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

const IssuerEvidence = Type.Object({
  issuerId: Type.String(),
  fullCount: Type.Integer(),
  deltaCount: Type.Integer(),
  firstThisUpdate: Time,
  lastThisUpdate: Time,
  retentionDays: Type.Union([Type.Integer(), Type.Null()]),
  maxFullGapSeconds: Type.Union([Type.Number(), Type.Null()]),
  gaps: Type.Array(
    Type.Object({
      kind: Type.Literal('full'),
      fromNumber: Type.String(),
      toNumber: Type.String(),
      fromThisUpdate: Type.String({ format: 'date-time' }),
      toThisUpdate: Type.String({ format: 'date-time' }),
      seconds: Type.Number(),
      uncovered: Type.Boolean(),
    }),
  ),
  digestMismatches: Type.Array(Type.Object({ number: Type.String(), kind: Type.String() })),
  overdueSeconds: Type.Integer(),
  ok: Type.Boolean(),
});

/**
 * The CRL archive checked as a regulator would: the cycle kept, every CRL's bytes intact, the
 * retention span. It reads the whole archive, so only the auditor and the business administrator
 * may start it.
 */
export function registerCrlEvidenceRoutes(
  app: HttpServer,
  deps: { pool: Pool; issuers: CaIssuerDirectory },
): void {
  app.get(
    '/v1/evidence/crls',
    {
      config: { access: allowedTo('evidence.read') },
      schema: {
        tags: ['evidence'],
        summary:
          'Per CA issuer: CRL cycle gaps (> 24 h), archived CRLs whose SM3 digest no longer matches, retention span',
        response: {
          200: withExample(
            Type.Object({
              cycleSeconds: Type.Integer(),
              ok: Type.Boolean(),
              issuers: Type.Array(IssuerEvidence),
            }),
            {
              cycleSeconds: 86_400,
              ok: true,
              issuers: [
                {
                  issuerId: 'sub',
                  fullCount: 365,
                  deltaCount: 8395,
                  firstThisUpdate: '2025-12-02T00:00:00.000Z',
                  lastThisUpdate: '2026-12-02T23:00:00.000Z',
                  retentionDays: 366,
                  maxFullGapSeconds: 86_100,
                  gaps: [],
                  digestMismatches: [],
                  overdueSeconds: 0,
                  ok: true,
                },
              ],
            },
          ),
        },
      },
    },
    async () => {
      const issuers = [];
      for (const issuer of await deps.issuers.all()) issuers.push(await crlEvidence(deps.pool, issuer.id));
      return { cycleSeconds: crlCycleSeconds, ok: issuers.every((issuer) => issuer.ok), issuers };
    },
  );
}
