import type { KmRequestItem } from '@sm2ca/pki';
import { applyKey } from './apply-key.ts';
import type { KmHandler } from './km-context.ts';
import { restoreKey } from './restore-key.ts';
import { revokeKey } from './revoke-key.ts';

/** One handler per GM/T 0014 request type; who may ask for each is part of its entry. */
export const kmHandlers: { [K in KmRequestItem['kind']]: KmHandler<Extract<KmRequestItem, { kind: K }>> } = {
  applyKey,
  restoreKey,
  revokeKey,
};

export function handlerOf(item: KmRequestItem): KmHandler<KmRequestItem> {
  return kmHandlers[item.kind] as KmHandler<KmRequestItem>;
}
