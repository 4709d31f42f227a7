/**
 * Public keys kept imported as session objects for verification. Importing one costs the device a
 * point check (~200 µs on hsm-sim, on the calling thread) against ~40 µs for the signature itself,
 * and the same few caller keys (the RA's, the CA's) verify request after request. A holder's CSR
 * key verifies once, so a key is kept only from its second use; at most `limit` are kept and none
 * is ever evicted, so no kept object is destroyed while another session verifies with it.
 */
export class VerifyKeyCache {
  #kept = new Map<string, Buffer>();
  #seen = new Set<string>();
  #generation = -1;

  constructor(private readonly limit = 32) {}

  /**
   * The kept object for `point`, or undefined: then the caller imports the key for this call and
   * offers it to `keep`. Objects of an older session generation went with their sessions.
   */
  get(point: Uint8Array, generation: number): Buffer | undefined {
    if (generation > this.#generation) this.clear(generation);
    if (generation !== this.#generation) return undefined;
    return this.#kept.get(Buffer.from(point).toString('hex'));
  }

  /** Whether the freshly imported `key` is kept (the caller must not destroy it then). */
  keep(point: Uint8Array, key: Buffer, generation: number, overflow: boolean): boolean {
    // An overflow session is closed on release, and its objects with it.
    if (overflow || generation !== this.#generation || this.#kept.size >= this.limit) return false;
    const hex = Buffer.from(point).toString('hex');
    if (!this.#seen.has(hex)) {
      if (this.#seen.size >= this.limit * 8) this.#seen.clear();
      this.#seen.add(hex);
      return false;
    }
    this.#kept.set(hex, key);
    return true;
  }

  /** Forgets every kept object (their sessions are gone, or a handle went stale). */
  clear(generation = this.#generation): void {
    this.#kept.clear();
    this.#seen.clear();
    this.#generation = generation;
  }
}
