import {
  AppError,
  createHttpServer,
  type HttpServer,
  KmClient,
  kmUrl,
  type ServiceContext,
} from '@sm2ca/platform';
import { registerApplicationRoutes } from './applications.ts';
import { registerAuditArchiveRoutes } from './audit-archives.ts';
import { registerAuditRoutes } from './audit-routes.ts';
import { registerAuditSettingsRoutes } from './audit-settings.ts';
import { registerAuditVerificationRoute } from './audit-verification.ts';
import { registerAvailabilityRoutes } from './availability-routes.ts';
import { registerBatchIssueRoute } from './batch-issue.ts';
import { registerBatchRoutes } from './batches.ts';
import { registerCaActionRoutes } from './ca-actions.ts';
import { createCaClient } from './ca-client.ts';
import { CertificateArchiver } from './certificate-archive.ts';
import { registerCertificateDetailRoute } from './certificate-detail.ts';
import { registerConsoleAssets } from './console-assets.ts';
import { registerConsoleReadRoutes } from './console-read-routes.ts';
import { registerDeadlineMetrics } from './deadline-metrics.ts';
import { registerDownloadRoutes } from './download-codes.ts';
import { registerEnrollmentProfileRoute } from './enrollment-profiles.ts';
import { registerEnrollmentTemplateRoute } from './enrollment-templates.ts';
import { registerEvidenceRoutes } from './evidence-routes.ts';
import { registerHolderCertificateRoutes } from './holder-certificates.ts';
import { deviceCsrVerifier } from './holder-csr.ts';
import { registerHoldRoutes } from './holds.ts';
import { registerIssuanceRoutes } from './issuance.ts';
import { IssueRetrier } from './issue-retrier.ts';
import { registerJudicialRecoveryRoutes } from './judicial-recoveries.ts';
import { registerKeyRecoveryRoutes } from './key-recoveries.ts';
import { registerKeyRecoveryDownloadRoute } from './key-recovery-download.ts';
import type { KeyRestorer } from './key-release.ts';
import { registerLoginRoutes } from './login-routes.ts';
import { defaultLoginSettings, type LoginSettings } from './login-settings.ts';
import { registerOperatorAdminRoutes } from './operator-admin.ts';
import { registerCachedAccessControl } from './operator-auth-cache.ts';
import { registerOperatorCertificateRoutes } from './operator-certificate-routes.ts';
import { registerQueryRoutes } from './queries.ts';
import { RaSigner } from './ra-signer.ts';
import { registerReplacementRoutes } from './replacements.ts';
import { registerReportRoutes } from './report-routes.ts';
import { registerReviewRoutes } from './review.ts';
import { registerRevocationRoutes } from './revocations.ts';
import { registerSessionRoute } from './session-route.ts';
import { registerTemplateRoutes } from './template-routes.ts';
import { TotpSeal } from './totp-seal.ts';

/**
 * The RA: the only service operators and holders talk to. Operators enter,
 * review and issue applications and revocations under role separation; holders
 * fetch their certificate once with a download code. Every change to the CA
 * goes out as an instruction signed with the RA key, and so does every key
 * recovery asked of the KM.
 */
export async function buildRaApp(
  context: ServiceContext,
  options: { km?: KeyRestorer; login?: Partial<LoginSettings> } = {},
): Promise<HttpServer> {
  const { device, config, db } = context;
  if (!device)
    throw new AppError('DEVICE_REQUIRED', 'the RA signs its CA instructions in the crypto device', 500);
  const raSigner = await RaSigner.open(db.pool, device);
  const ca = createCaClient({
    baseUrl: `http://${config.services.ca.host}:${config.services.ca.port}`,
    signer: raSigner,
  });
  const ctx = {
    pool: db.pool,
    ca,
    downloadCodeDays: config.downloadCodeDays,
    allowHolderEncryptionKeys: config.ca.allowHolderEncryptionKeys,
    csrVerifier: deviceCsrVerifier(device),
  };
  const app = await createHttpServer({
    service: 'ra',
    readiness: context.db.pool,
    log: context.log,
    timeouts: config.http,
    title: 'SM2 CA — registration authority',
  });
  const { totpSealKey, challengesPerMinute, ...timings } = config.login;
  const login = { ...defaultLoginSettings, ...timings, ...options.login };
  registerCachedAccessControl(app, db, context.log, login.now);
  registerDeadlineMetrics(app, db.pool);
  await registerLoginRoutes(app, {
    pool: db.pool,
    seal: TotpSeal.configured(config.home, totpSealKey),
    settings: login,
    challengesPerMinute,
  });
  registerSessionRoute(app);
  await registerConsoleAssets(app);
  registerApplicationRoutes(app, ctx);
  registerEnrollmentProfileRoute(app);
  registerEnrollmentTemplateRoute(app, db.pool);
  registerReviewRoutes(app, ctx);
  registerIssuanceRoutes(app, ctx);
  registerBatchRoutes(app, ctx);
  registerBatchIssueRoute(app, ctx);
  registerDownloadRoutes(app, ctx);
  registerRevocationRoutes(app, ctx);
  registerHoldRoutes(app, ctx);
  registerReplacementRoutes(app, ctx);
  registerHolderCertificateRoutes(app, ctx);
  registerQueryRoutes(app, ctx);
  registerCertificateDetailRoute(app, ctx);
  registerEvidenceRoutes(app, ctx);
  registerReportRoutes(app, ctx);
  registerAvailabilityRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  const audit = { pool: db.pool, home: config.home, checkpointMinutes: config.audit.checkpointMinutes };
  registerAuditSettingsRoutes(app, audit);
  registerAuditArchiveRoutes(app, audit);
  registerAuditVerificationRoute(app, audit);
  registerOperatorAdminRoutes(app, db.pool);
  registerOperatorCertificateRoutes(app, ctx);
  registerConsoleReadRoutes(app, db.pool);
  registerTemplateRoutes(app, db.pool);
  const recovery = {
    ...ctx,
    // KM takes key recovery (RestoreKeyReq) only under a current RA certificate.
    km: options.km ?? new KmClient({ url: kmUrl(config), caller: raSigner, pool: db.pool, verifier: device }),
    judicialApprovalHours: config.judicialApprovalHours,
  };
  registerKeyRecoveryRoutes(app, recovery);
  registerKeyRecoveryDownloadRoute(app, recovery);
  registerJudicialRecoveryRoutes(app, recovery);
  registerCaActionRoutes(app, {
    pool: db.pool,
    ca,
    approvals: config.caActions.approvals,
    hours: config.caActions.hours,
    subordinateDays: config.ca.issuingDays,
    raKeyRotated: () => raSigner.forget(),
  });
  const retrier = new IssueRetrier(ctx, context.log, config.issueRetrySeconds * 1000);
  app.addHook('onReady', async () => retrier.start());
  app.addHook('onClose', () => retrier.stop());
  const archiver = new CertificateArchiver({
    pool: db.pool,
    url: db.url,
    settings: config.lifecycle,
    log: context.log,
  });
  app.addHook('onReady', () => archiver.start());
  app.addHook('onClose', () => archiver.stop());
  return app;
}
