/** Strong ETag from the SM3 digest the archive keeps of every CRL. */
export function etagOf(digest: Uint8Array): string {
  return `"${Buffer.from(digest).toString('hex')}"`;
}

/** RFC 9110 13.1.2: weak comparison, any of a list, or `*`. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}

/**
 * The current CRL at a fixed URL is replaced seconds after a revocation, so shared caches
 * may keep it for at most this long even though it stays valid until nextUpdate.
 */
const CURRENT_MAX_AGE_SECONDS = 60;
/** An archived CRL fetched by number never changes. */
const ARCHIVED_MAX_AGE_SECONDS = 365 * 86_400;

export function crlCacheHeaders(
  crl: { thisUpdate: Date; nextUpdate: Date; sm3: Uint8Array },
  options: { archived: boolean; now?: Date },
): { etag: string; 'last-modified': string; expires: string; 'cache-control': string } {
  const untilNextUpdate = Math.max(
    0,
    Math.floor((crl.nextUpdate.getTime() - (options.now ?? new Date()).getTime()) / 1000),
  );
  const cacheControl = options.archived
    ? `public, max-age=${ARCHIVED_MAX_AGE_SECONDS}, immutable`
    : `public, max-age=${Math.min(untilNextUpdate, CURRENT_MAX_AGE_SECONDS)}`;
  return {
    etag: etagOf(crl.sm3),
    'last-modified': crl.thisUpdate.toUTCString(),
    expires: crl.nextUpdate.toUTCString(),
    'cache-control': cacheControl,
  };
}
