import type { Authenticated } from './authenticate.ts';
import { credentialDigest } from './credential.ts';
import type { Operator } from './operators.ts';

/** What migration 0026's triggers notify on any change to operators, roles, sessions or certificate status. */
export const operatorAuthChannel = 'operator_auth';

/**
 * Operators authenticated recently, by the digest of their token, so that a busy operator's
 * requests do not each cost the database two queries. An entry lives at most `ttlMs` and never
 * past its session's expiry. The cache keeps nothing unless told it hears operatorAuthChannel
 * (`listening`), and everything is forgotten on each notification and whenever the hearing stops,
 * so a disabled operator, a changed role, a logout or a revoked login certificate takes effect
 * at once and not after the TTL.
 */
export class AuthenticationCache {
  readonly #entries = new Map<string, { operator: Operator; until: number }>();
  #listening = false;
  #generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  set listening(on: boolean) {
    this.#listening = on;
    this.clear();
  }

  get(token: string, now: Date): Operator | undefined {
    if (!this.#listening) return undefined;
    const key = credentialDigest(token).toString('base64');
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until > now.getTime()) return entry.operator;
    this.#entries.delete(key);
    return undefined;
  }

  /** Taken before authenticating: a change heard while the query ran makes its answer stale. */
  get generation(): number {
    return this.#generation;
  }

  keep(token: string, { operator, expiresAt }: Authenticated, now: Date, generation: number): void {
    if (!this.#listening || generation !== this.#generation) return;
    if (this.#entries.size >= this.maxEntries) this.clear();
    const until = Math.min(now.getTime() + this.ttlMs, expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
    this.#entries.set(credentialDigest(token).toString('base64'), { operator, until });
  }

  clear(): void {
    this.#generation++;
    this.#entries.clear();
  }
}
