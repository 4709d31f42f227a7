/**
 * Calls `fire(key)` once `quietMs` have passed without another `touch(key)` — a burst of
 * revocations becomes one CRL — but never later than `maxWaitMs` after the burst's first
 * touch, so a steady stream of revocations cannot hold publication back.
 */
export class Debouncer<K> {
  #pending = new Map<K, { first: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly quietMs: number,
    private readonly maxWaitMs: number,
    private readonly fire: (key: K) => void,
  ) {}

  touch(key: K): void {
    const now = Date.now();
    const entry = this.#pending.get(key);
    if (entry) clearTimeout(entry.timer);
    const first = entry?.first ?? now;
    const delay = Math.max(0, Math.min(this.quietMs, first + this.maxWaitMs - now));
    const timer = setTimeout(() => {
      this.#pending.delete(key);
      this.fire(key);
    }, delay);
    this.#pending.set(key, { first, timer });
  }

  clear(): void {
    for (const { timer } of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }
}
