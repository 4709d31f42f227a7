import {
  AppError,
  createHttpServer,
  type HttpServer,
  registerAccessControl,
  type ServiceContext,
} from '@sm2ca/platform';
import { CaIssuerDirectory } from './ca-issuers.ts';
import { CrlArchiveReader } from './crl-archive.ts';
import { registerCrlEvidenceRoutes } from './crl-evidence-routes.ts';
import { registerCrlMetrics } from './crl-metrics.ts';
import { CrlPublishing } from './crl-publishing.ts';
import { registerCrlRoutes } from './crl-routes.ts';
import { DirectoryPublisher } from './directory-publisher.ts';
import { registerDirectoryRoutes } from './directory-routes.ts';
import { registerPublicationLagMetrics } from './publication-lag-metrics.ts';
import { registerRevocationRoutes } from './revocation-routes.ts';

export interface CrlAppOptions {
  /** How often a follower tries to become the publisher (and the leader checks its lock). */
  leaderRetryMs?: number;
}

/** With no directory configured, publication is off and the outbox just grows until one is. */
function directoryPublisher(context: ServiceContext, options: CrlAppOptions): DirectoryPublisher | undefined {
  const { url, bindDn, password } = context.config.directory;
  if (!url) return undefined;
  return new DirectoryPublisher({
    pool: context.db.pool,
    url: context.db.url,
    config: context.config,
    connection: { url, ...(bindDn ? { bindDn } : {}), ...(password ? { password } : {}) },
    log: context.log,
    ...(options.leaderRetryMs ? { leaderRetryMs: options.leaderRetryMs } : {}),
  });
}

/**
 * Every replica serves CRLs from the archive; the one holding the leader lock also
 * publishes them. Publishing starts when the server is ready and stops before it closes,
 * ahead of the device and the database.
 */
export async function buildCrlApp(context: ServiceContext, options: CrlAppOptions = {}): Promise<HttpServer> {
  const device = context.device;
  if (!device) throw new AppError('DEVICE_REQUIRED', 'the CRL publisher signs with the crypto device', 500);
  const { pool } = context.db;
  const issuers = new CaIssuerDirectory(pool);
  const archive = new CrlArchiveReader(pool);
  const publishing = new CrlPublishing({
    pool,
    url: context.db.url,
    config: context.config,
    log: context.log,
    signer: (label) => device.signer(label),
    ...(options.leaderRetryMs ? { leaderRetryMs: options.leaderRetryMs } : {}),
  });
  const directory = directoryPublisher(context, options);

  const app = await createHttpServer({
    service: 'crl',
    readiness: context.db.pool,
    log: context.log,
    timeouts: context.config.http,
    title: 'SM2 CA — CRL publisher',
  });
  registerAccessControl(app, pool);
  registerCrlMetrics(app, pool);
  registerPublicationLagMetrics(app, pool);
  registerCrlRoutes(app, { issuers, archive });
  registerCrlEvidenceRoutes(app, { pool, issuers });
  registerRevocationRoutes(app, {
    pool,
    issuers,
    archive,
    publisher: () => ({ id: publishing.publisherId, leader: publishing.leader }),
  });
  registerDirectoryRoutes(app, {
    pool,
    publisher: () => ({ enabled: directory !== undefined, leader: directory?.leader ?? false }),
  });
  app.addHook('onReady', async () => {
    publishing.start();
    void directory?.start();
  });
  app.addHook('onClose', async () => {
    await directory?.stop();
    await publishing.stop();
  });
  return app;
}
