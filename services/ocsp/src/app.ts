import {
  AppError,
  ControlConnection,
  createHttpServer,
  type HttpServer,
  type ServiceContext,
} from '@sm2ca/platform';
import { connectPool } from '@sm2ca/store';
import { CacheSync } from './cache-sync.ts';
import { CoalescedTask } from './coalesced-task.ts';
import { IssuerRegistry, issuersChannel } from './issuer-registry.ts';
import { OcspAnswers } from './ocsp-answers.ts';
import { OcspCache } from './ocsp-cache.ts';
import { registerOcspRoutes } from './ocsp-routes.ts';
import { PresignLeader } from './presign-leader.ts';
import { ResponseSigner } from './response-signer.ts';
import { responseChannel } from './response-table.ts';
import { SigningRateLimit } from './signing-rate-limit.ts';
import { parseStatusEvent, statusChannel } from './status-event.ts';

export interface OcspAppOptions {
  /** Between lock attempts and reconnections: how soon a replica takes over from a dead leader. */
  retryMs?: number;
  /** Between refresh sweeps, issuer reloads and memory pruning. */
  sweepMs?: number;
  /** The clock the live-signing rate limit refills by. */
  now?: () => number;
}

/**
 * The OCSP responder. Every replica answers from memory and LISTENs for changes; the one
 * holding the advisory lock also pre-signs and stores responses for all of them.
 */
export async function buildOcspApp(
  context: ServiceContext,
  options: OcspAppOptions = {},
): Promise<HttpServer> {
  const { config, log, db, device } = context;
  if (!device)
    throw new AppError('OCSP_DEVICE_MISSING', 'the OCSP responder signs in the crypto device', 500);
  let registry = await IssuerRegistry.load(db.pool);
  if (registry.size === 0) {
    throw new AppError('OCSP_NOT_INITIALISED', 'no CA has an OCSP signer yet; run `npx sm2ca init`', 500);
  }
  if (registry.unsigned.length > 0) {
    log.warn({ issuers: registry.unsigned }, 'OCSP: CAs without a valid OCSP signer are not answered for');
  }
  const validityMs = config.ocsp.validityHours * 3_600_000;
  const replica = config.databaseReplicaUrl
    ? await connectPool(config.databaseReplicaUrl, {
        max: config.databasePoolSize,
        outageWaitMs: config.databaseOutageWaitSeconds * 1000,
      })
    : undefined;
  const cache = new OcspCache();
  const signer = new ResponseSigner(device, validityMs);
  const answers = new OcspAnswers({
    registry: () => registry,
    cache,
    signer,
    readPool: replica ?? db.pool,
    limit: new SigningRateLimit(
      { perSecond: config.ocsp.liveSigningPerSecond, burst: config.ocsp.liveSigningBurst },
      options.now,
    ),
    log,
  });
  const sync = new CacheSync(db.pool, cache, log);
  const leader = new PresignLeader({
    pool: db.pool,
    cache,
    signer,
    registry: () => registry,
    validityMs,
    log,
  });
  const control = new ControlConnection({
    url: db.url,
    applicationName: 'sm2ca-ocsp-control',
    lock: 'sm2ca:ocsp-presign',
    channels: [statusChannel, responseChannel, issuersChannel],
    retryMs: options.retryMs ?? 2_000,
    log,
    onConnected: () => void sync.catchUp(),
    onNotification: (channel, payload) => {
      if (channel === responseChannel) {
        void sync.responsesStored();
        return;
      }
      if (channel === issuersChannel) {
        void reloading.run();
        return;
      }
      const event = parseStatusEvent(payload);
      if (!event) return log.warn({ payload }, 'OCSP: ignoring a malformed status notification');
      void sync.statusChanged(event, event.id);
      void leader.enqueue([event]);
      if (registry.isSignerCertificate(event)) void reloading.run();
    },
    onElected: () => void leader.start(),
    onDeposed: () => leader.stop(),
  });

  const reload = async () => {
    const reloaded = await IssuerRegistry.load(db.pool);
    const retired = registry.retiresSignersIn(reloaded);
    const changed = !reloaded.sameAs(registry);
    if (changed) {
      log.info('OCSP: signers changed; responses move to the new ones as they refresh');
      if (reloaded.unsigned.length > 0) {
        log.warn(
          { issuers: reloaded.unsigned },
          'OCSP: CAs without a valid OCSP signer are not answered for',
        );
      }
    }
    registry = reloaded;
    // A revoked signer's responses are not served another time.
    if (retired) cache.prune(Date.now(), (id) => reloaded.usable(id));
    if (retired || changed) await leader.signersChanged();
  };
  const reloading = new CoalescedTask(reload, (err) =>
    log.warn({ err: (err as Error).message }, 'OCSP: reloading the signers failed'),
  );
  const sweep = async () => {
    await reloading.run();
    cache.prune(Date.now(), (id) => registry.usable(id));
    await leader.refresh();
  };
  const timer = setInterval(() => {
    sweep().catch((err) => log.warn({ err: (err as Error).message }, 'OCSP: sweep failed'));
  }, options.sweepMs ?? 60_000);
  timer.unref();

  await control.start();
  await sync.idle();

  const app = await createHttpServer({
    service: 'ocsp',
    readiness: db.pool,
    log,
    timeouts: config.http,
    title: 'SM2 CA — OCSP responder (RFC 6960 / RFC 5019)',
  });
  registerOcspRoutes(app, new URL(config.publicUrls.ocsp).pathname.replace(/\/+$/, ''), answers);
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await control.stop();
    await reloading.idle();
    await leader.idle();
    await sync.idle();
    await answers.settled();
    await replica?.end();
  });
  return app;
}
