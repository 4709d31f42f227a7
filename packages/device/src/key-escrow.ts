import { decodeSm2Ciphertext, encodeSm2EnvelopedKey } from '@sm2ca/gm';
import pkcs11 from 'pkcs11js';
import { DeviceError } from './device-error.ts';
import {
  type KeyOptions,
  privateKeyTemplate,
  publicKeyTemplate,
  secretKeyTemplate,
} from './key-templates.ts';
import {
  destroyObjects,
  findObjects,
  importPublicKey,
  mechanismOf,
  readPoint,
  type SessionContext,
  wrapKey,
} from './session-objects.ts';
import { settle } from './settle.ts';
import { encodeSpki } from './spki.ts';

/**
 * Key escrow for a key-management centre: key pairs made in the device leave it only wrapped under a
 * master key, and come back out only enveloped to a holder. Every key in between is a session object
 * addressed by its handle, destroyed before the operation returns.
 */

export interface WrappedKeyPair {
  /** SubjectPublicKeyInfo DER. */
  publicKey: Uint8Array;
  /**
   * The pair's public point 04‖X‖Y, then the private key under the master key in the vendor's
   * private-key wrapping (SM4-ECB, no padding, on SM2 devices). The point lets an unwrap notice a
   * wrong master key, which the wrapping itself cannot: under SM4-ECB any 32 bytes unwrap to a key.
   */
  wrappedPrivateKey: Uint8Array;
}

const pointLength = 65;

function unpackWrappedKey(blob: Uint8Array): { point: Uint8Array; wrapped: Uint8Array } {
  if (blob.length <= pointLength || blob[0] !== 0x04) {
    throw new DeviceError('DEVICE_BAD_INPUT', 'the wrapped private key is not public point ‖ wrapped key');
  }
  return { point: blob.subarray(0, pointLength), wrapped: blob.subarray(pointLength) };
}

const mismatch = (why: string) => new DeviceError('DEVICE_KEY_MISMATCH', `the wrapped private key ${why}`);

// Never looked up: the transient objects are used by handle, so concurrent calls cannot mix them up.
const transient: KeyOptions = { label: 'km-transient', token: false, extractable: true };

/** A token SM4 key that only wraps and unwraps, never leaves the device, and never overwrites another. */
export async function createMasterKey(context: SessionContext, label: string): Promise<void> {
  const { lib, session, vendor } = context;
  if (findObjects(context, [{ type: pkcs11.CKA_LABEL, value: label }]).length > 0) {
    throw new DeviceError('DEVICE_KEY_EXISTS', `the token already holds an object labelled "${label}"`);
  }
  const template = secretKeyTemplate(vendor, { label, wrapOnly: true }, true);
  await settle(lib.C_GenerateKeyAsync(session, { mechanism: vendor.mechanisms.secretKeyGen }, template), [
    template,
  ]);
}

export async function generateWrappedKeyPair(
  context: SessionContext,
  master: Buffer,
): Promise<WrappedKeyPair> {
  const { lib, session, vendor } = context;
  const wrapPrivate = mechanismOf(vendor, 'wrapPrivate');
  const options = { ...transient, decrypt: true };
  const publicTemplate = publicKeyTemplate(vendor, options, true);
  const privateTemplate = privateKeyTemplate(vendor, options);
  const keys = await settle(
    lib.C_GenerateKeyPairAsync(
      session,
      { mechanism: vendor.mechanisms.keyPairGen },
      publicTemplate,
      privateTemplate,
    ),
    [publicTemplate, privateTemplate],
  );
  try {
    const wrapped = await wrapKey(context, wrapPrivate, master, keys.privateKey);
    const point = readPoint(context, keys.publicKey, 'the new public key');
    return {
      publicKey: encodeSpki(vendor.curveOid, point),
      wrappedPrivateKey: Buffer.concat([point, wrapped]),
    };
  } finally {
    destroyObjects(context, [keys.privateKey, keys.publicKey]);
  }
}

/**
 * The wrapped private key as a GM/T 0009 SM2EnvelopedKey to `recipient` (04‖X‖Y): the scalar under a
 * fresh SM4 key with SM4-ECB, that SM4 key SM2-encrypted to the recipient. A blob that unwraps to
 * another key than its own public point (another master key's), or that belongs to another pair than
 * `expected` (04‖X‖Y), is refused with DEVICE_KEY_MISMATCH instead of enveloped.
 */
export async function envelopeWrappedKey(
  context: SessionContext,
  master: Buffer,
  wrappedPrivateKey: Uint8Array,
  recipient: Uint8Array,
  expected?: Uint8Array,
): Promise<Uint8Array> {
  const { lib, session, vendor } = context;
  if (vendor.algorithm !== 'sm2') {
    throw new DeviceError('DEVICE_MECHANISM_UNSUPPORTED', `${vendor.name} has no SM2 to envelope a key with`);
  }
  const mechanisms = {
    wrapPrivate: mechanismOf(vendor, 'wrapPrivate'),
    secretEcb: mechanismOf(vendor, 'secretEcb'),
    wrapSecret: mechanismOf(vendor, 'wrapSecret'),
  };
  const blob = unpackWrappedKey(wrappedPrivateKey);
  if (expected && !Buffer.from(expected).equals(blob.point)) throw mismatch('belongs to another key pair');
  const created: Buffer[] = [];
  try {
    const input = Buffer.from(blob.wrapped);
    const privateTemplate = privateKeyTemplate(vendor, transient);
    const privateKey = await settle(
      lib.C_UnwrapKeyAsync(session, { mechanism: mechanisms.wrapPrivate }, master, input, privateTemplate),
      [input, privateTemplate],
    );
    created.push(privateKey);
    const publicKey = readPoint(context, privateKey, 'the unwrapped private key');
    if (!Buffer.from(blob.point).equals(publicKey)) {
      throw mismatch('does not unwrap to its key pair: wrapped under another master key?');
    }
    const secretTemplate = secretKeyTemplate(vendor, transient, true);
    const symmetricKey = await settle(
      lib.C_GenerateKeyAsync(session, { mechanism: vendor.mechanisms.secretKeyGen }, secretTemplate),
      [secretTemplate],
    );
    created.push(symmetricKey);
    const encryptedPrivateKey = await wrapKey(context, mechanisms.secretEcb, symmetricKey, privateKey);
    const recipientKey = importPublicKey(context, recipient, pkcs11.CKA_WRAP);
    created.push(recipientKey);
    const encryptedSymmetricKey = decodeSm2Ciphertext(
      await wrapKey(context, mechanisms.wrapSecret, recipientKey, symmetricKey),
    );
    return encodeSm2EnvelopedKey({ encryptedSymmetricKey, publicKey, encryptedPrivateKey });
  } finally {
    destroyObjects(context, created);
  }
}
