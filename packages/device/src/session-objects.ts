import pkcs11 from 'pkcs11js';
import { DeviceError } from './device-error.ts';
import { settle } from './settle.ts';
import { ecParams, ecPointFromPoint, pointFromEcPoint } from './spki.ts';
import type { VendorTable } from './vendor-table.ts';

/** One leased, logged-in session and the vendor numbers to speak to it. */
export interface SessionContext {
  readonly lib: pkcs11.PKCS11;
  readonly session: Buffer;
  readonly vendor: VendorTable;
}

// Larger than any key this layer wraps: an SM2 scalar, an SM4 key as SM2 ciphertext, an EC key under AES.
const wrappedSize = 4096;
const findBatch = 100;

export function findObjects(context: SessionContext, template: pkcs11.Template): Buffer[] {
  const { lib, session } = context;
  lib.C_FindObjectsInit(session, template);
  try {
    const found: Buffer[] = [];
    for (;;) {
      const batch = lib.C_FindObjects(session, findBatch);
      found.push(...batch);
      if (batch.length < findBatch) return found;
    }
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

/** The vendor's number for a mechanism, or a DeviceError when the device lacks it. */
export function mechanismOf(vendor: VendorTable, name: keyof VendorTable['mechanisms']): number {
  const mechanism = vendor.mechanisms[name];
  if (mechanism === null) {
    throw new DeviceError('DEVICE_MECHANISM_UNSUPPORTED', `${vendor.name} has no ${name} mechanism`);
  }
  return mechanism;
}

/** A public key as a session object that may do `usage` (CKA_VERIFY, CKA_ENCRYPT, CKA_WRAP). */
export function importPublicKey(context: SessionContext, point: Uint8Array, usage: number): Buffer {
  const { lib, session, vendor } = context;
  return lib.C_CreateObject(session, [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
    { type: pkcs11.CKA_KEY_TYPE, value: vendor.keyTypes.ec },
    { type: pkcs11.CKA_TOKEN, value: false },
    { type: usage, value: true },
    { type: pkcs11.CKA_EC_PARAMS, value: ecParams(vendor.curveOid) },
    { type: pkcs11.CKA_EC_POINT, value: ecPointFromPoint(point, vendor.quirks.ecPointFormat) },
  ]);
}

/** The uncompressed point 04‖X‖Y of a public key, or of a private key on devices that keep it there. */
export function readPoint(context: SessionContext, key: Buffer, what: string): Uint8Array {
  const [attribute] = context.lib.C_GetAttributeValue(context.session, key, [{ type: pkcs11.CKA_EC_POINT }]);
  if (!attribute?.value) throw new DeviceError('DEVICE_ERROR', `${what} has no CKA_EC_POINT`);
  return pointFromEcPoint(attribute.value);
}

export async function wrapKey(
  context: SessionContext,
  mechanism: number,
  wrapping: Buffer,
  key: Buffer,
): Promise<Uint8Array> {
  const out = Buffer.alloc(wrappedSize);
  return new Uint8Array(
    await settle(context.lib.C_WrapKeyAsync(context.session, { mechanism }, wrapping, key, out), [out]),
  );
}

// Best effort: when the session died with the operation its objects are gone already, and the
// operation's own error is the one worth reporting.
export function destroyObjects(context: SessionContext, objects: Buffer[]): void {
  for (const object of objects) {
    try {
      context.lib.C_DestroyObject(context.session, object);
    } catch {}
  }
}
