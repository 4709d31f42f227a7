import { Type } from '@sinclair/typebox';
import { AppError, type HttpServer } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { PublicationSchema, StatsSchema } from './api-docs.ts';
import type { CaIssuerDirectory } from './ca-issuers.ts';
import type { CrlArchiveReader } from './crl-archive.ts';
import { publicationStats, revocationPublications } from './crl-revocations.ts';

export interface RevocationRouteDeps {
  pool: Pool;
  issuers: CaIssuerDirectory;
  archive: CrlArchiveReader;
  publisher(): { id: string; leader: boolean };
}

/** The percentiles scan every revocation an issuer ever had; a monitoring poll needs no fresher figures. */
const STATS_TTL_MS = 5_000;

const PublicationParams = Type.Object({
  issuerId: Type.String({ maxLength: 64, examples: ['sub'] }),
  serial: Type.String({ pattern: '^[0-9A-Fa-f]{1,40}$', examples: ['047486ac30b0188b29c85a61320b67cb'] }),
});

/**
 * The measured "revocation decided → on the published CRL" delay (the 24-hour rule):
 * per certificate, and as per-issuer percentiles with what is still waiting.
 */
export function registerRevocationRoutes(app: HttpServer, deps: RevocationRouteDeps): void {
  app.get(
    '/v1/revocations/:issuerId/:serial/publication',
    {
      config: { access: 'public' },
      schema: {
        description: 'Each revocation or suspension of a certificate and the first CRL that carried it',
        params: PublicationParams,
        response: { 200: PublicationSchema },
      },
    },
    async (request) => {
      const { issuerId } = request.params;
      const serial = request.params.serial.toLowerCase();
      if (!(await deps.issuers.get(issuerId))) {
        throw new AppError('ISSUER_UNKNOWN', `no CA issuer "${issuerId}"`, 404);
      }
      const revocations = await revocationPublications(deps.pool, issuerId, serial);
      if (!revocations) {
        throw new AppError(
          'REVOCATION_UNKNOWN',
          `certificate ${serial} of ${issuerId} is unknown or was never revoked or suspended`,
          404,
        );
      }
      return { issuerId, serial, revocations };
    },
  );

  let stats: { at: number; value: ReturnType<typeof issuerStats> } | undefined;
  app.get(
    '/v1/stats',
    {
      config: { access: 'public' },
      schema: {
        description: 'Per CA issuer: current CRLs and revocation → first CRL delays (p50/p99/max)',
        response: { 200: StatsSchema },
      },
    },
    async () => {
      if (!stats || Date.now() - stats.at >= STATS_TTL_MS) {
        const value = issuerStats();
        stats = { at: Date.now(), value };
        value.catch(() => {
          stats = undefined;
        });
      }
      return { publisher: deps.publisher(), issuers: await stats.value };
    },
  );

  async function issuerStats() {
    return Promise.all(
      (await deps.issuers.all()).map(async (issuer) => {
        const [full, delta, revocations] = await Promise.all([
          deps.archive.current(issuer.id, 'full'),
          deps.archive.current(issuer.id, 'delta'),
          publicationStats(deps.pool, issuer.id),
        ]);
        const summary = (crl: typeof full) =>
          crl && {
            number: String(crl.number),
            thisUpdate: crl.thisUpdate.toISOString(),
            nextUpdate: crl.nextUpdate.toISOString(),
            entries: crl.entryCount,
            publishedAt: crl.publishedAt.toISOString(),
            ...(crl.baseNumber === undefined ? {} : { baseNumber: String(crl.baseNumber) }),
          };
        return { issuerId: issuer.id, full: summary(full), delta: summary(delta), revocations };
      }),
    );
  }
}
