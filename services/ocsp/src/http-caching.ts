import type { CachedResponse } from './ocsp-cache.ts';

export const OCSP_RESPONSE_TYPE = 'application/ocsp-response';

/**
 * RFC 5019 6.2 as Boulder does it: caches may keep the bytes until nextUpdate and must
 * then come back; ETag lets them revalidate with a 304.
 */
export function cacheableHeaders(response: CachedResponse, nowMs: number): Record<string, string> {
  const maxAge = Math.max(0, Math.floor((response.nextUpdateMs - nowMs) / 1000));
  return {
    'content-type': OCSP_RESPONSE_TYPE,
    'cache-control': `max-age=${maxAge}, public, no-transform, must-revalidate`,
    'last-modified': response.lastModified,
    expires: response.expires,
    etag: response.etag,
  };
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
