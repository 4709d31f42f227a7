import type graphene from 'graphene-pk11';

/** A session checked out for one operation; `generation` tells a stale lease from a current one after a reconnect. */
export interface Lease {
  readonly session: graphene.Session;
  readonly generation: number;
  /** Borrowed beyond the pool size by the synchronous path; closed on release. */
  readonly overflow: boolean;
}

/**
 * PKCS#11 allows one active operation per session, so each operation checks a session out and returns it.
 * Sessions are opened on demand up to `size`; callers beyond that wait in line. A reconnect bumps the
 * generation: idle sessions are closed at once, leased ones when they come back.
 */
export class SessionPool {
  #idle: Lease[] = [];
  #waiting: Array<{ resolve: (lease: Lease) => void; reject: (error: unknown) => void }> = [];
  #open = 0;
  #generation = 0;
  #closed = false;

  constructor(
    private readonly openSession: () => graphene.Session,
    readonly size: number,
  ) {}

  get generation(): number {
    return this.#generation;
  }

  async acquire(): Promise<Lease> {
    const lease = this.#take();
    if (lease) return lease;
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /**
   * The synchronous path cannot wait; when every pooled session is busy with an async operation it
   * borrows an extra session that is closed again on release.
   */
  acquireSync(): Lease {
    const lease = this.#take();
    if (lease) return lease;
    this.#open++;
    return { session: this.#openCounted(), generation: this.#generation, overflow: true };
  }

  release(lease: Lease): void {
    if (this.#closed || lease.overflow || lease.generation !== this.#generation) {
      this.#discard(lease);
      this.#serveWaiters();
      return;
    }
    const next = this.#waiting.shift();
    if (next) next.resolve(lease);
    else this.#idle.push(lease);
  }

  /** Forgets every session of the current generation; the next acquire opens fresh ones. */
  reset(): void {
    this.#generation++;
    for (const lease of this.#idle.splice(0)) this.#discard(lease);
    this.#serveWaiters();
  }

  close(): void {
    this.#closed = true;
    for (const lease of this.#idle.splice(0)) this.#discard(lease);
    for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error('device is closed'));
  }

  // Freed capacity goes to waiters as new sessions, so discarding a stale session never strands them.
  #serveWaiters(): void {
    while (this.#waiting.length > 0 && this.#open < this.size && !this.#closed) {
      const waiter = this.#waiting.shift()!;
      try {
        const lease = this.#take();
        if (lease) waiter.resolve(lease);
      } catch (error) {
        waiter.reject(error);
      }
    }
  }

  #take(): Lease | undefined {
    if (this.#closed) throw new Error('device is closed');
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#open >= this.size) return undefined;
    this.#open++;
    return { session: this.#openCounted(), generation: this.#generation, overflow: false };
  }

  #openCounted(): graphene.Session {
    try {
      return this.openSession();
    } catch (error) {
      this.#open--;
      throw error;
    }
  }

  #discard(lease: Lease): void {
    this.#open--;
    try {
      lease.session.close();
    } catch {
      // The session may already be gone with the device; closing it is best effort.
    }
  }
}
