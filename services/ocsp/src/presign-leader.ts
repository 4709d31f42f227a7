import { buildOcspCertId, type OcspHashAlgorithm } from '@sm2ca/pki';
import type { Logger } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { type CertKey, certKeyString, readStates } from './certificate-state.ts';
import { CoalescedTask } from './coalesced-task.ts';
import type { IssuerRegistry } from './issuer-registry.ts';
import { cachedResponse, type OcspCache } from './ocsp-cache.ts';
import type { ResponseSigner } from './response-signer.ts';
import { readDueForRefresh, readMissing, type StoredResponse, storeResponses } from './response-table.ts';

/**
 * SHA-1 is what RFC 5019 clients send, SM3 what GM clients send. Other CertID hashes are
 * signed on first request and then held in memory like these.
 */
export const PRESIGNED_ALGORITHMS: readonly OcspHashAlgorithm[] = ['sha1', 'sm3'];

const BATCH = 200;

export interface PresignLeaderDeps {
  pool: Pool;
  cache: OcspCache;
  signer: ResponseSigner;
  registry: () => IssuerRegistry;
  validityMs: number;
  log: Logger;
}

/**
 * The work of the one replica holding the lock: sign a response per certificate and
 * algorithm at issuance and at every status change, re-sign those past half their
 * validity, and store them for every replica. Taking over, it first signs whatever is
 * missing or states an old status, so a gap in leadership loses nothing.
 */
export class PresignLeader {
  #active = false;
  readonly #queue = new Map<string, CertKey>();
  readonly #drain: CoalescedTask;
  readonly #sweep: CoalescedTask;
  #sweepReconciles = false;

  constructor(private readonly deps: PresignLeaderDeps) {
    const onError = (what: string) => (err: unknown) =>
      deps.log.error({ err }, `OCSP: ${what} failed; tried again on the next sweep`);
    this.#drain = new CoalescedTask(() => this.#drainQueue(), onError('pre-signing'));
    this.#sweep = new CoalescedTask(() => this.#sweepOnce(), onError('refreshing responses'));
  }

  get active(): boolean {
    return this.#active;
  }

  start(): Promise<void> {
    this.#active = true;
    this.#sweepReconciles = true;
    return this.#sweep.run();
  }

  stop(): void {
    this.#active = false;
    this.#queue.clear();
  }

  /** Certificates whose status changed: signed again right away. */
  enqueue(keys: readonly CertKey[]): Promise<void> {
    if (!this.#active) return Promise.resolve();
    for (const key of keys) this.#queue.set(certKeyString(key.issuerId, key.serial), key);
    return this.#drain.run();
  }

  /**
   * A signer was revoked or suspended, or a CA got a new one: whatever lacks a response of a
   * usable signer is signed (again), as at a take-over.
   */
  signersChanged(): Promise<void> {
    if (!this.#active) return Promise.resolve();
    this.#sweepReconciles = true;
    return this.#sweep.run();
  }

  /** Periodic: what failed to be stored, responses nearing nextUpdate, and (after a takeover) anything missing. */
  async refresh(): Promise<void> {
    if (!this.#active) return;
    await Promise.all([this.#queue.size > 0 ? this.#drain.run() : undefined, this.#sweep.run()]);
  }

  async idle(): Promise<void> {
    await Promise.all([this.#sweep.idle(), this.#drain.idle()]);
  }

  async #sweepOnce(): Promise<void> {
    if (this.#sweepReconciles) {
      // Cleared first: a signer retired while this pass runs asks for one more.
      this.#sweepReconciles = false;
      try {
        await this.#reconcile();
      } catch (err) {
        this.#sweepReconciles = true;
        throw err;
      }
    }
    // Refreshed at half the validity, so a leader that dies leaves replicas half a period to take over.
    const started = new Date();
    const before = new Date(started.getTime() + this.deps.validityMs / 2);
    while (this.#active) {
      const due = await readDueForRefresh(this.deps.pool, before, started, BATCH);
      if (due.length === 0 || (await this.#sign(due)) === 0) return;
    }
  }

  async #reconcile(): Promise<void> {
    let after: CertKey = { issuerId: '', serial: '' };
    while (this.#active) {
      const signers = this.deps.registry().usableSigners;
      const missing = await readMissing(this.deps.pool, PRESIGNED_ALGORITHMS, signers, after, BATCH);
      if (missing.length === 0) return;
      await this.#sign(missing);
      after = missing.at(-1)!;
    }
  }

  async #drainQueue(): Promise<void> {
    while (this.#active && this.#queue.size > 0) {
      const keys = [...this.#queue.values()].slice(0, BATCH);
      for (const key of keys) this.#queue.delete(certKeyString(key.issuerId, key.serial));
      try {
        await this.#sign(keys);
      } catch (err) {
        // Kept for the next sweep; until then replicas sign these live from the new state.
        for (const key of keys) this.#queue.set(certKeyString(key.issuerId, key.serial), key);
        throw err;
      }
    }
  }

  /** Signs and stores the current state of each certificate; returns how many responses were stored. */
  async #sign(keys: readonly CertKey[]): Promise<number> {
    const registry = this.deps.registry();
    const now = new Date();
    const signing: Promise<StoredResponse>[] = [];
    for (const { issuerId, serial, state } of await readStates(this.deps.pool, keys)) {
      const issuer = registry.get(issuerId);
      if (state.status.status === 'unknown' || !issuer) continue;
      for (const algorithm of PRESIGNED_ALGORITHMS) {
        const certId = buildOcspCertId(issuer.certIdSource, BigInt(`0x${serial}`), algorithm);
        signing.push(
          this.deps.signer.signOne({ issuer, certId, state }, now).then((signed) => ({
            issuerId,
            serial,
            algorithm,
            state,
            signerId: issuer.signer.id,
            ...signed,
          })),
        );
      }
    }
    const responses = await Promise.all(signing);
    if (!this.#active || responses.length === 0) return 0;
    await storeResponses(this.deps.pool, responses);
    for (const r of responses) {
      this.deps.cache.install(certKeyString(r.issuerId, r.serial), r.state, {
        [r.algorithm]: cachedResponse(r.der, r.thisUpdate, r.nextUpdate, 'stored', r.signerId),
      });
    }
    return responses.length;
  }
}
