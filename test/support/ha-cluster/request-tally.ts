/** Per kind of request: how many went out, came back fine, failed and why, and the longest run of failures. */
export class RequestTally {
  readonly #kinds = new Map<
    string,
    {
      sent: number;
      ok: number;
      failed: number;
      reasons: Map<string, number>;
      failingSince: number | undefined;
      longestOutageMs: number;
    }
  >();

  #kind(kind: string) {
    let k = this.#kinds.get(kind);
    if (!k) {
      k = { sent: 0, ok: 0, failed: 0, reasons: new Map(), failingSince: undefined, longestOutageMs: 0 };
      this.#kinds.set(kind, k);
    }
    return k;
  }

  /**
   * Times `call` as one request of `kind`; it throws (a transport error, or the caller's own
   * check of the answer) to count as failed. An outage, as the client sees it, runs from the
   * start of the first failing request to the end of the next one that succeeds.
   */
  async record<T>(kind: string, call: () => Promise<T>): Promise<T | undefined> {
    const k = this.#kind(kind);
    k.sent++;
    const startedAt = Date.now();
    try {
      const value = await call();
      k.ok++;
      if (k.failingSince !== undefined) {
        k.longestOutageMs = Math.max(k.longestOutageMs, Date.now() - k.failingSince);
        k.failingSince = undefined;
      }
      return value;
    } catch (err) {
      k.failed++;
      const reason = (err as Error).message.slice(0, 80);
      k.reasons.set(reason, (k.reasons.get(reason) ?? 0) + 1);
      k.failingSince ??= startedAt;
      return undefined;
    }
  }

  /** The figures, an outage still running at the end counted up to now. */
  summary() {
    const now = Date.now();
    const kinds = [...this.#kinds].map(([kind, k]) => ({
      kind,
      sent: k.sent,
      ok: k.ok,
      failed: k.failed,
      availability: k.sent === 0 ? 100 : (100 * k.ok) / k.sent,
      longestOutageMs: Math.max(k.longestOutageMs, k.failingSince === undefined ? 0 : now - k.failingSince),
      reasons: Object.fromEntries(k.reasons),
    }));
    const sent = kinds.reduce((n, k) => n + k.sent, 0);
    const ok = kinds.reduce((n, k) => n + k.ok, 0);
    return {
      kinds,
      sent,
      ok,
      failed: sent - ok,
      availability: sent === 0 ? 100 : (100 * ok) / sent,
      longestOutageMs: Math.max(0, ...kinds.map((k) => k.longestOutageMs)),
    };
  }
}
