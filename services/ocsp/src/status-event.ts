import type { CertKey } from './certificate-state.ts';

/** The CA's channel: it NOTIFYs here in the transaction of every status change (and writes certificate_events). */
export const statusChannel = 'certificate_status';

export interface StatusEvent extends CertKey {
  /** certificate_events.id */
  id: number;
}

/** The CA's payload `{ id, issuerId, serial, status }`; only which certificate matters, its state is read. */
export function parseStatusEvent(payload: string): StatusEvent | undefined {
  try {
    const event = JSON.parse(payload) as Record<string, unknown>;
    const id = Number(event.id);
    if (typeof event.issuerId !== 'string' || typeof event.serial !== 'string' || !Number.isSafeInteger(id)) {
      return undefined;
    }
    return { id, issuerId: event.issuerId, serial: event.serial.toLowerCase() };
  } catch {
    return undefined;
  }
}
