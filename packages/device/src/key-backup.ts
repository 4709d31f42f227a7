import pkcs11 from 'pkcs11js';
import { DeviceError } from './device-error.ts';
import { privateKeyTemplate, publicKeyTemplate } from './key-templates.ts';
import {
  destroyObjects,
  findObjects,
  mechanismOf,
  readPoint,
  type SessionContext,
  wrapKey,
} from './session-objects.ts';
import { settle } from './settle.ts';
import { ecPointFromPoint } from './spki.ts';

/**
 * Split-custody backup of a service key. The key is made extractable only under a trusted key
 * (CKA_WRAP_WITH_TRUSTED), and only the security officer can make a key trusted: so the user PIN
 * alone, which the services hold, can never take a CA key out of the device.
 */

export interface PrivateKeyBackup {
  /** The fresh SM4 key the private key is wrapped under; the caller splits it among custodians. */
  secretKey: Uint8Array;
  /** Public point 04‖X‖Y, then the private key under `secretKey` (SM4-ECB, no padding). */
  wrappedPrivateKey: Uint8Array;
}

const pointLength = 65;

/** The user's private key handle stays valid across the log-ins; pool sessions log in again on use. */
async function asSecurityOfficer<T>(
  context: SessionContext,
  pins: { soPin: string; userPin: string },
  body: () => T,
): Promise<T> {
  const { lib, session } = context;
  lib.C_Logout(session);
  try {
    lib.C_Login(session, pkcs11.CKU_SO, pins.soPin);
    try {
      return body();
    } finally {
      lib.C_Logout(session);
    }
  } finally {
    lib.C_Login(session, pkcs11.CKU_USER, pins.userPin);
  }
}

/**
 * A fresh SM4 key made by the SO as a trusted, public session object (the SO may not touch private
 * objects), readable so that it can be split; the private key `key` wrapped under it as the user.
 */
export async function backupPrivateKey(
  context: SessionContext,
  key: Buffer,
  pins: { soPin: string; userPin: string },
): Promise<PrivateKeyBackup> {
  const { lib, session, vendor } = context;
  const wrapPrivate = mechanismOf(vendor, 'wrapPrivate');
  const point = readPoint(context, key, 'the private key to back up');
  const template: pkcs11.Template = [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
    { type: pkcs11.CKA_KEY_TYPE, value: vendor.keyTypes.secret },
    { type: pkcs11.CKA_TOKEN, value: false },
    { type: pkcs11.CKA_PRIVATE, value: false },
    { type: pkcs11.CKA_LABEL, value: 'backup-transient' },
    { type: pkcs11.CKA_SENSITIVE, value: false },
    { type: pkcs11.CKA_EXTRACTABLE, value: true },
    { type: pkcs11.CKA_TRUSTED, value: true },
    { type: pkcs11.CKA_WRAP, value: true },
    { type: pkcs11.CKA_UNWRAP, value: false },
    { type: pkcs11.CKA_ENCRYPT, value: false },
    { type: pkcs11.CKA_DECRYPT, value: false },
  ];
  if (vendor.secretKeyValueLen !== null) {
    template.push({ type: pkcs11.CKA_VALUE_LEN, value: vendor.secretKeyValueLen });
  }
  const wrapping = await asSecurityOfficer(context, pins, () =>
    lib.C_GenerateKey(session, { mechanism: vendor.mechanisms.secretKeyGen }, template),
  );
  try {
    const [value] = lib.C_GetAttributeValue(session, wrapping, [{ type: pkcs11.CKA_VALUE }]);
    if (!value?.value) throw new DeviceError('DEVICE_ERROR', 'the backup key has no readable value');
    const wrapped = await wrapKey(context, wrapPrivate, wrapping, key);
    return { secretKey: new Uint8Array(value.value), wrappedPrivateKey: Buffer.concat([point, wrapped]) };
  } finally {
    destroyObjects(context, [wrapping]);
  }
}

/**
 * The backed-up key as a token key pair `label` that never leaves this device again. A wrong secret
 * key unwraps to some other scalar under SM4-ECB: the blob's public point catches it, and nothing is
 * left on the token.
 */
export async function restorePrivateKey(
  context: SessionContext,
  secretKey: Uint8Array,
  wrappedPrivateKey: Uint8Array,
  label: string,
): Promise<Uint8Array> {
  const { lib, session, vendor } = context;
  const wrapPrivate = mechanismOf(vendor, 'wrapPrivate');
  if (wrappedPrivateKey.length <= pointLength || wrappedPrivateKey[0] !== 0x04) {
    throw new DeviceError('DEVICE_BAD_INPUT', 'the wrapped private key is not public point ‖ wrapped key');
  }
  if (findObjects(context, [{ type: pkcs11.CKA_LABEL, value: label }]).length > 0) {
    throw new DeviceError('DEVICE_KEY_EXISTS', `the token already holds an object labelled "${label}"`);
  }
  const point = wrappedPrivateKey.subarray(0, pointLength);
  const transient: Buffer[] = [];
  const made: Buffer[] = [];
  try {
    transient.push(
      lib.C_CreateObject(session, [
        { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
        { type: pkcs11.CKA_KEY_TYPE, value: vendor.keyTypes.secret },
        { type: pkcs11.CKA_TOKEN, value: false },
        { type: pkcs11.CKA_LABEL, value: 'restore-transient' },
        { type: pkcs11.CKA_VALUE, value: Buffer.from(secretKey) },
        { type: pkcs11.CKA_UNWRAP, value: true },
        { type: pkcs11.CKA_WRAP, value: false },
        { type: pkcs11.CKA_ENCRYPT, value: false },
        { type: pkcs11.CKA_DECRYPT, value: false },
      ]),
    );
    const input = Buffer.from(wrappedPrivateKey.subarray(pointLength));
    const privateTemplate = privateKeyTemplate(vendor, { label, token: true, extractable: false });
    const privateKey = await settle(
      lib.C_UnwrapKeyAsync(session, { mechanism: wrapPrivate }, transient[0]!, input, privateTemplate),
      [input, privateTemplate],
    );
    made.push(privateKey);
    if (!Buffer.from(point).equals(readPoint(context, privateKey, 'the restored private key'))) {
      throw new DeviceError(
        'DEVICE_KEY_MISMATCH',
        'the secret key does not unwrap the backed-up private key: wrong shares or another backup',
      );
    }
    made.push(
      lib.C_CreateObject(session, [
        ...publicKeyTemplate(vendor, { label }, false),
        { type: pkcs11.CKA_EC_POINT, value: ecPointFromPoint(point, vendor.quirks.ecPointFormat) },
      ]),
    );
    made.length = 0;
    return point;
  } finally {
    destroyObjects(context, [...transient, ...made]);
  }
}
