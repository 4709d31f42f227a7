import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { AppError, type HttpServer } from '@sm2ca/platform';

/** Where `npm ci` leaves the console's build (the @sm2ca/console workspace's `vite build`). */
export function consoleBuild(): string {
  const manifest = createRequire(import.meta.url).resolve('@sm2ca/console/package.json');
  return join(dirname(manifest), 'dist');
}

// Everything the console needs comes from the RA itself: no inline script, no other origin.
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const assetFile = /^assets\/[\w.-]+\.(js|css|svg|woff2)$/;

/**
 * The operators' web console under /console/. It holds no business rule: every action it offers
 * is a call to the RA's own API with the operator's session token. Hashed asset names are cached
 * for good; the page itself never, so a new build reaches operators on their next load.
 */
export async function registerConsoleAssets(app: HttpServer, root = consoleBuild()): Promise<void> {
  const built = existsSync(join(root, 'index.html'));
  if (built) await app.register(fastifyStatic, { root, serve: false, cacheControl: false });
  app.get('/console', { config: { access: 'public' }, schema: { hide: true } }, (_request, reply) =>
    reply.redirect('/console/'),
  );
  app.get<{ Params: { '*': string } }>(
    '/console/*',
    { config: { access: 'public' }, schema: { hide: true } },
    (request, reply) => {
      if (!built) {
        throw new AppError(
          'CONSOLE_NOT_BUILT',
          'the console was not built: run npm ci (or npm run build -w console)',
          503,
        );
      }
      reply.header('content-security-policy', contentSecurityPolicy);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      const path = request.params['*'];
      if (assetFile.test(path) && existsSync(join(root, path))) {
        return reply.header('cache-control', 'public, max-age=31536000, immutable').sendFile(path);
      }
      // Any other path is a page of the console's own routing: the same document answers it.
      return reply.header('cache-control', 'no-store').type('text/html').sendFile('index.html');
    },
  );
}
