export interface SigningRateSettings {
  perSecond: number;
  burst: number;
}

/**
 * Clients tracked at once (about 100 bytes each). Beyond it the one seen least recently is
 * forgotten and would start again with a full bucket, so evading a limit takes that many
 * addresses in turn.
 */
const MAX_CLIENTS = 10_000;

/**
 * A token bucket per client address for responses signed on demand: each costs a device
 * signature, which a pre-signed answer never does, so one client cannot take the device
 * from everyone else.
 */
export class SigningRateLimit {
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly settings: SigningRateSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `client` may have one more signature now; takes it if so. */
  take(client: string): boolean {
    const nowMs = this.now();
    const { perSecond, burst } = this.settings;
    const bucket = this.#buckets.get(client);
    let tokens = burst;
    if (bucket) {
      this.#buckets.delete(client);
      const refill = (Math.max(0, nowMs - bucket.atMs) * perSecond) / 1000;
      tokens = Math.min(burst, bucket.tokens + refill);
    }
    const allowed = tokens >= 1;
    this.#buckets.set(client, { tokens: allowed ? tokens - 1 : tokens, atMs: nowMs });
    if (this.#buckets.size > MAX_CLIENTS) this.#buckets.delete(this.#buckets.keys().next().value!);
    return allowed;
  }

  get clients(): number {
    return this.#buckets.size;
  }
}
