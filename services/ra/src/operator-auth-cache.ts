import {
  AuthenticationCache,
  ControlConnection,
  type HttpServer,
  type Logger,
  operatorAuthChannel,
  registerAccessControl,
} from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';

/** Short: the notification is what ends an entry early; the TTL only bounds what a lost one could cost. */
const ttlMs = 10_000;

/**
 * The hot path of issuance: entry, review and issue (single and batch). They write applications
 * and audit records, never operators, roles, sessions or a certificate's status, so they leave
 * the cache as it is; every other write clears it.
 */
const cacheSafe = ['application.enter', 'application.review', 'application.issue'];

/**
 * Access control that authenticates an operator's token once per ten seconds rather than on each
 * request (two queries each): it keeps answers only while its own connection LISTENs for
 * migration 0026's notifications, which forget them all.
 */
export function registerCachedAccessControl(
  app: HttpServer,
  db: { pool: Pool; url: string },
  log: Logger,
  now?: () => Date,
): void {
  const cache = new AuthenticationCache(ttlMs);
  const listener = new ControlConnection({
    url: db.url,
    applicationName: 'sm2ca-ra-operator-auth',
    channels: [operatorAuthChannel],
    retryMs: 5_000,
    log,
    onConnected: () => {
      cache.listening = true;
    },
    onNotification: () => cache.clear(),
    onDisconnected: () => {
      cache.listening = false;
    },
  });
  registerAccessControl(app, db.pool, { ...(now ? { now } : {}), cache, cacheSafe });
  app.addHook('onReady', async () => {
    await listener.start();
  });
  app.addHook('onClose', () => listener.stop());
}
