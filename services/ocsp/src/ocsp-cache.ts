import { createHash } from 'node:crypto';
import type { OcspHashAlgorithm } from '@sm2ca/pki';
import type { CertState } from './certificate-state.ts';

/** A complete single-certificate OCSPResponse with what HTTP caching needs, computed once. */
export interface CachedResponse {
  der: Buffer;
  thisUpdateMs: number;
  nextUpdateMs: number;
  etag: string;
  lastModified: string;
  expires: string;
  /**
   * Signed by the pre-signing leader and stored in PostgreSQL, as opposed to signed here while
   * the leader's was not yet in: every replica holds the same stored bytes, so one ETag is valid
   * across all of them.
   */
  stored: boolean;
  /** The OCSP signer (issuers id) whose key signed it: served only while that signer is usable. */
  signerId: string;
}

export interface CacheEntry {
  state: CertState;
  responses: Partial<Record<OcspHashAlgorithm, CachedResponse>>;
  /** When the state was last set, for pruning entries that never got a response. */
  touchedMs: number;
}

export function cachedResponse(
  der: Buffer,
  thisUpdate: Date,
  nextUpdate: Date,
  origin: 'stored' | 'live',
  signerId: string,
): CachedResponse {
  return {
    der,
    stored: origin === 'stored',
    signerId,
    thisUpdateMs: thisUpdate.getTime(),
    nextUpdateMs: nextUpdate.getTime(),
    etag: `"${createHash('sm3').update(der).digest('hex')}"`,
    lastModified: thisUpdate.toUTCString(),
    expires: nextUpdate.toUTCString(),
  };
}

/** Unknown serials are whatever clients send, so their entries are bounded (oldest out first). */
const MAX_UNKNOWN = 10_000;
/** A state without a response for this long (the certificate expired, nobody asked) is dropped. */
const IDLE_STATE_MS = 10 * 60_000;

function sameStatus(a: CertState, b: CertState): boolean {
  if (a.status.status !== b.status.status) return false;
  if (a.status.status !== 'revoked' || b.status.status !== 'revoked') return true;
  return (
    a.status.revocationTime.getTime() === b.status.revocationTime.getTime() &&
    a.status.reason === b.status.reason
  );
}

/** For one state: the leader's stored response wins over an interim live one; otherwise the newer does. */
function replaces(candidate: CachedResponse, held: CachedResponse | undefined): boolean {
  if (!held) return true;
  if (candidate.stored !== held.stored) return candidate.stored;
  return held.thisUpdateMs <= candidate.thisUpdateMs;
}

function dropResponses(entry: CacheEntry, drop: (response: CachedResponse) => boolean): void {
  for (const [algorithm, response] of Object.entries(entry.responses) as [
    OcspHashAlgorithm,
    CachedResponse,
  ][]) {
    if (drop(response)) delete entry.responses[algorithm];
  }
}

/**
 * Per certificate: its newest known state and the responses that state was signed into,
 * one per CertID hash algorithm. States only move forward (by version), so reads from a
 * lagging replica or late notifications can never bring back an older status.
 */
export class OcspCache {
  readonly #known = new Map<string, CacheEntry>();
  readonly #unknown = new Map<string, CacheEntry>();

  get(key: string): CacheEntry | undefined {
    return this.#known.get(key) ?? this.#unknown.get(key);
  }

  /**
   * Records `state` (and responses signed for exactly that state) unless a newer state is
   * held; returns the entry that is current afterwards.
   */
  install(
    key: string,
    state: CertState,
    responses: Partial<Record<OcspHashAlgorithm, CachedResponse>> = {},
    nowMs = Date.now(),
  ): CacheEntry {
    let entry = this.get(key);
    if (entry && state.version < entry.state.version) return entry;
    if (!entry || state.version > entry.state.version || !sameStatus(entry.state, state)) {
      entry = { state, responses: {}, touchedMs: nowMs };
      this.#place(key, entry);
    }
    entry.touchedMs = nowMs;
    for (const [algorithm, response] of Object.entries(responses) as [OcspHashAlgorithm, CachedResponse][]) {
      if (replaces(response, entry.responses[algorithm])) entry.responses[algorithm] = response;
    }
    return entry;
  }

  #place(key: string, entry: CacheEntry): void {
    if (entry.state.status.status === 'unknown') {
      this.#known.delete(key);
      this.#unknown.delete(key);
      this.#unknown.set(key, entry);
      if (this.#unknown.size > MAX_UNKNOWN) this.#unknown.delete(this.#unknown.keys().next().value!);
    } else {
      this.#unknown.delete(key);
      this.#known.set(key, entry);
    }
  }

  /**
   * Drops responses past their nextUpdate or signed by a signer no longer `usable` (revoked,
   * suspended), and states left without any for a while.
   */
  prune(nowMs = Date.now(), usable: (signerId: string) => boolean = () => true): void {
    for (const map of [this.#known, this.#unknown]) {
      for (const [key, entry] of map) {
        dropResponses(entry, (response) => response.nextUpdateMs <= nowMs || !usable(response.signerId));
        if (Object.keys(entry.responses).length === 0 && nowMs - entry.touchedMs > IDLE_STATE_MS) {
          map.delete(key);
        }
      }
    }
  }

  /** Drops the certificate's responses signed by a signer no longer `usable`, so fresh ones take their place. */
  dropUnusable(key: string, usable: (signerId: string) => boolean): void {
    const entry = this.get(key);
    if (entry) dropResponses(entry, (response) => !usable(response.signerId));
  }

  get size(): number {
    return this.#known.size + this.#unknown.size;
  }
}
