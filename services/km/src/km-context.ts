import type { Device } from '@sm2ca/device';
import type { KmRequestItem, KmRespondItem, KsRequest } from '@sm2ca/pki';
import type { Actor, CallerCertificate, Logger } from '@sm2ca/platform';
import type { Pool, PoolClient } from '@sm2ca/store';

/** What every handler works with. */
export interface KmContext {
  pool: Pool;
  device: Device;
  /** The SM4 key in the device that wraps every escrowed private key generated from now on. */
  masterKeyLabel: string;
  /** Takes that leave fewer pooled keys than this wake the pool filler. */
  poolLowWater: number;
  log: Logger;
}

/** One verified request and who signed it. */
export interface KmCall {
  request: KsRequest;
  caller: CallerCertificate;
  actor: Actor;
}

/**
 * One GM/T 0014 request type. The request's items are checked, then committed together in the
 * transaction that records the request, then answered: the answer is built only from what the
 * commit left in the database, so a repeat of a task whose answer was lost (a crash after the
 * commit) gets the same key again.
 */
export interface KmHandler<T extends KmRequestItem> {
  /** The `issuers` kinds whose certificates may sign this request. */
  callers: readonly string[];
  /** Refusals that need no database, before anything is recorded. */
  check(item: T): void;
  /** The state change, in the transaction that records the request. */
  commit(client: PoolClient, km: KmContext, call: KmCall, item: T): Promise<void>;
  answer(km: KmContext, call: KmCall, item: T): Promise<KmRespondItem>;
}
