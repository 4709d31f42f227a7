import type { Logger } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import {
  type CertKey,
  certKeyString,
  lastEventId,
  readChangedStates,
  readStates,
} from './certificate-state.ts';
import { CoalescedTask } from './coalesced-task.ts';
import { cachedResponse, type OcspCache } from './ocsp-cache.ts';
import { readResponsesSince, type StoredResponse } from './response-table.ts';

const PAGE = 5_000;

/**
 * Keeps one replica's memory in step with the database, whether or not it is the leader:
 * stored responses by version (all of them at start, then what the leader announces), and
 * certificate states as soon as the CA announces a change — so a revoked certificate stops
 * being answered "good" within the notification's latency even before the leader has
 * signed its new response. Reads go to the primary: a replica may not have the change yet.
 */
export class CacheSync {
  #lastVersion = 0;
  #lastEventId: number | undefined;
  readonly #pending = new Map<string, CertKey>();
  readonly #responses: CoalescedTask;
  readonly #states: CoalescedTask;
  readonly #changes: CoalescedTask;

  constructor(
    private readonly pool: Pool,
    private readonly cache: OcspCache,
    private readonly log: Logger,
  ) {
    const onError = (what: string) => (err: unknown) =>
      log.warn({ err: (err as Error).message }, `OCSP: ${what} failed; retried on the next notification`);
    this.#responses = new CoalescedTask(() => this.#loadResponses(), onError('loading stored responses'));
    this.#states = new CoalescedTask(() => this.#loadPendingStates(), onError('reading certificate states'));
    this.#changes = new CoalescedTask(
      () => this.#loadChangedStates(),
      onError('catching up on status events'),
    );
  }

  /** After every (re)connection: whatever notifications may have been missed meanwhile. */
  async catchUp(): Promise<void> {
    await Promise.all([this.#responses.run(), this.#changes.run()]);
  }

  /** The CA changed a certificate's status (issued, revoked, suspended). */
  statusChanged(key: CertKey, eventId: number): Promise<void> {
    this.#pending.set(certKeyString(key.issuerId, key.serial), key);
    if (this.#lastEventId !== undefined) this.#lastEventId = Math.max(this.#lastEventId, eventId);
    return this.#states.run();
  }

  /** The leader stored responses up to `version`. */
  responsesStored(): Promise<void> {
    return this.#responses.run();
  }

  async idle(): Promise<void> {
    await Promise.all([this.#responses.idle(), this.#states.idle(), this.#changes.idle()]);
  }

  #install(response: StoredResponse): void {
    this.cache.install(certKeyString(response.issuerId, response.serial), response.state, {
      [response.algorithm]: cachedResponse(
        response.der,
        response.thisUpdate,
        response.nextUpdate,
        'stored',
        response.signerId,
      ),
    });
  }

  async #loadResponses(): Promise<void> {
    for (;;) {
      const { responses, lastVersion } = await readResponsesSince(this.pool, this.#lastVersion, PAGE);
      for (const response of responses) this.#install(response);
      this.#lastVersion = lastVersion;
      if (responses.length < PAGE) return;
    }
  }

  async #loadPendingStates(): Promise<void> {
    const keys = [...this.#pending.values()];
    this.#pending.clear();
    try {
      for (const { issuerId, serial, state } of await readStates(this.pool, keys)) {
        this.cache.install(certKeyString(issuerId, serial), state);
      }
    } catch (err) {
      for (const key of keys) this.#pending.set(certKeyString(key.issuerId, key.serial), key);
      throw err;
    }
  }

  async #loadChangedStates(): Promise<void> {
    // The first time, the stored responses say the rest; the last minute is read all the same.
    this.#lastEventId ??= await lastEventId(this.pool);
    const { states, lastId } = await readChangedStates(this.pool, this.#lastEventId);
    for (const { issuerId, serial, state } of states)
      this.cache.install(certKeyString(issuerId, serial), state);
    this.#lastEventId = lastId;
    this.log.debug({ changed: states.length, lastEventId: lastId }, 'OCSP: caught up on status events');
  }
}
