import {
  AppError,
  createHttpServer,
  type HttpServer,
  KmClient,
  kmUrl,
  registerAccessControl,
  type ServiceContext,
} from '@sm2ca/platform';
import { registerApplicationRoutes } from './applications.ts';
import { createCaClient } from './ca-client.ts';
import { registerDownloadRoutes } from './download-codes.ts';
import { registerIssuanceRoutes } from './issuance.ts';
import { IssueRetrier } from './issue-retrier.ts';
import { registerJudicialRecoveryRoutes } from './judicial-recoveries.ts';
import { registerKeyRecoveryRoutes } from './key-recoveries.ts';
import { registerKeyRecoveryDownloadRoute } from './key-recovery-download.ts';
import type { KeyRestorer } from './key-release.ts';
import { registerOperatorAdminRoutes } from './operator-admin.ts';
import { registerQueryRoutes } from './queries.ts';
import { registerReviewRoutes } from './review.ts';
import { registerRevocationRoutes } from './revocations.ts';

/** The RA's signing key: the newest issuers row of kind 'ra', written by the RA key ceremony. */
async function raKeyLabel(context: ServiceContext): Promise<string> {
  const { rows } = await context.db.pool.query(
    "SELECT key_label FROM issuers WHERE kind = 'ra' ORDER BY created_at DESC LIMIT 1",
  );
  if (!rows[0]) {
    throw new AppError(
      'RA_KEY_MISSING',
      'no RA key is registered (issuers of kind ra); run the RA key ceremony',
      500,
    );
  }
  return rows[0].key_label;
}

/**
 * The RA: the only service operators and holders talk to. Operators enter,
 * review and issue applications and revocations under role separation; holders
 * fetch their certificate once with a download code. Every change to the CA
 * goes out as an instruction signed with the RA key, and so does every key
 * recovery asked of the KM.
 */
export async function buildRaApp(
  context: ServiceContext,
  options: { km?: KeyRestorer } = {},
): Promise<HttpServer> {
  const { device, config, db } = context;
  if (!device)
    throw new AppError('DEVICE_REQUIRED', 'the RA signs its CA instructions in the crypto device', 500);
  const raSigner = device.signer(await raKeyLabel(context));
  const ca = createCaClient({
    baseUrl: `http://${config.services.ca.host}:${config.services.ca.port}`,
    signer: raSigner,
  });
  const ctx = {
    pool: db.pool,
    ca,
    downloadCodeDays: config.downloadCodeDays,
    allowHolderEncryptionKeys: config.ca.allowHolderEncryptionKeys,
  };
  const app = await createHttpServer({
    readiness: context.db.pool,
    log: context.log,
    timeouts: config.http,
    title: 'SM2 CA — registration authority',
  });
  registerAccessControl(app, db.pool);
  registerApplicationRoutes(app, ctx);
  registerReviewRoutes(app, ctx);
  registerIssuanceRoutes(app, ctx);
  registerDownloadRoutes(app, ctx);
  registerRevocationRoutes(app, ctx);
  registerQueryRoutes(app, ctx);
  registerOperatorAdminRoutes(app, db.pool);
  const recovery = {
    ...ctx,
    // KM takes key recovery (RestoreKeyReq) only under a current RA certificate.
    km: options.km ?? new KmClient({ url: kmUrl(config), caller: raSigner, pool: db.pool, verifier: device }),
    judicialApprovalHours: config.judicialApprovalHours,
  };
  registerKeyRecoveryRoutes(app, recovery);
  registerKeyRecoveryDownloadRoute(app, recovery);
  registerJudicialRecoveryRoutes(app, recovery);
  const retrier = new IssueRetrier(ctx, context.log, config.issueRetrySeconds * 1000);
  app.addHook('onReady', async () => retrier.start());
  app.addHook('onClose', () => retrier.stop());
  return app;
}
