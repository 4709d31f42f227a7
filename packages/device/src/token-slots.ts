import type graphene from 'graphene-pk11';
import pkcs11 from 'pkcs11js';
import { ckrName, DeviceError } from './device-error.ts';

/**
 * The slot holding the token `label`. A token the module cannot read (CKR_TOKEN_NOT_RECOGNIZED) does not
 * stop the search; but when no readable token has the label, it may be the one wanted, so the answer is
 * an error naming it rather than "not found" — which would invite creating a new token over it.
 */
export function slotWithLabel(module: graphene.Module, label: string): graphene.Slot | undefined {
  const unreadable: string[] = [];
  const slots = module.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    let tokenLabel: string;
    try {
      tokenLabel = slot.getToken().label;
    } catch (error) {
      if (ckrName(error) !== 'CKR_TOKEN_NOT_RECOGNIZED') throw error;
      unreadable.push(`"${slot.slotDescription.trim()}"`);
      continue;
    }
    if (tokenLabel === label) return slot;
  }
  if (unreadable.length === 0) return undefined;
  throw new DeviceError(
    'DEVICE_TOKEN_UNREADABLE',
    `no readable token labelled "${label}": the token in ${unreadable.join(', ')} cannot be read (CKR_TOKEN_NOT_RECOGNIZED) and may be this one; it is left as it is`,
    'CKR_TOKEN_NOT_RECOGNIZED',
  );
}

/** A slot whose token was never initialised; call after `slotWithLabel`, which vouches every token readable. */
export function freeSlot(module: graphene.Module): graphene.Slot | undefined {
  const slots = module.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    if (!(slot.getToken().flags & pkcs11.CKF_TOKEN_INITIALIZED)) return slot;
  }
  return undefined;
}
