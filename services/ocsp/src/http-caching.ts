import type { CachedResponse } from './ocsp-cache.ts';

export const OCSP_RESPONSE_TYPE = 'application/ocsp-response';

/** max-age changes once a second: the headers of a busy response are built once a second too. */
const recent = new WeakMap<CachedResponse, { second: number; headers: Record<string, string> }>();

/**
 * RFC 5019 6.2 as Boulder does it: caches may keep the bytes until nextUpdate and must
 * then come back; ETag lets them revalidate with a 304.
 */
export function cacheableHeaders(response: CachedResponse, nowMs: number): Record<string, string> {
  const second = Math.floor(nowMs / 1000);
  const held = recent.get(response);
  if (held?.second === second) return held.headers;
  const maxAge = Math.max(0, Math.floor((response.nextUpdateMs - nowMs) / 1000));
  const headers = {
    'content-type': OCSP_RESPONSE_TYPE,
    'cache-control': `max-age=${maxAge}, public, no-transform, must-revalidate`,
    'last-modified': response.lastModified,
    expires: response.expires,
    etag: response.etag,
  };
  recent.set(response, { second, headers });
  return headers;
}

/** Nonce responses, several-certificate responses, errors and every POST answer. */
export const uncacheableHeaders: Readonly<Record<string, string>> = {
  'content-type': OCSP_RESPONSE_TYPE,
  'cache-control': 'no-store',
};

/** If-None-Match (RFC 9110 13.1.2): a list of tags, weak or strong, or "*". */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
