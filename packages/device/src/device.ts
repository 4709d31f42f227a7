import type { PartsSigner, Signer, Verifier } from '@sm2ca/pki';
import graphene from 'graphene-pk11';
import pkcs11 from 'pkcs11js';
import type { DeviceConfig } from './device-config.ts';
import { ckrName, DeviceError, toDeviceError } from './device-error.ts';
import { derToRaw, rawToDer } from './ec-signature.ts';
import { defaultSignerId, hostDigest, hostSignInput } from './host-digest.ts';
import { backupPrivateKey, type PrivateKeyBackup, restorePrivateKey } from './key-backup.ts';
import {
  createMasterKey,
  envelopeWrappedKey,
  generateWrappedKeyPair,
  type WrappedKeyPair,
} from './key-escrow.ts';
import {
  type KeyPairInspection,
  privateKeyAttributes,
  privateKeyAttributeTypes,
  type SecretKeyInspection,
  secretKeyAttributes,
  secretKeyAttributeTypes,
} from './key-inspection.ts';
import {
  type KeyOptions,
  privateKeyTemplate,
  publicKeyTemplate,
  secretKeyTemplate,
} from './key-templates.ts';
import { acquireModule, reinitializeModule, releaseModule } from './module-registry.ts';
import {
  destroyObjects,
  findObjects,
  importPublicKey,
  mechanismOf,
  readPoint,
  type SessionContext,
  wrapKey,
} from './session-objects.ts';
import { type Lease, SessionPool } from './session-pool.ts';
import { settle } from './settle.ts';
import { decodeSpki, encodeSpki } from './spki.ts';
import { slotWithLabel } from './token-slots.ts';
import { type VendorTable, vendorTable } from './vendor-table.ts';
import { VerifyKeyCache } from './verify-key-cache.ts';

export interface SignOptions {
  /** SM2 signer ID; the GM/T 0009 default `1234567812345678` when absent. Ignored for ECDSA. */
  signerId?: Uint8Array | string;
}

/** A public key on the token by label, or any public key as SubjectPublicKeyInfo DER. */
export type PublicKeyRef = string | Uint8Array;

export interface DeviceInfo {
  module: string;
  vendor: string;
  library: { manufacturer: string; description: string; version: string };
  token: { label: string; manufacturer: string; model: string; serialNumber: string };
  mechanisms: Array<{ type: number; name: string }>;
}

// Errors after which the sessions (or the whole library) must be reopened; the operation is retried once.
const reconnectable = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
]);
// A key deleted or recreated elsewhere leaves a stale cached handle: look it up again and retry.
const staleHandle = new Set(['CKR_KEY_HANDLE_INVALID', 'CKR_OBJECT_HANDLE_INVALID']);

// CKS_RO_PUBLIC_SESSION and CKS_RW_PUBLIC_SESSION, which pkcs11js does not export.
const publicSessionStates = new Set([0, 2]);

const outputSize = { signature: 256, digest: 64, ciphertextOverhead: 256 };

function buffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function signerIdBytes(signerId: SignOptions['signerId']): Buffer {
  if (signerId === undefined) return defaultSignerId;
  return typeof signerId === 'string' ? Buffer.from(signerId, 'utf8') : Buffer.from(signerId);
}

function findSlot(module: graphene.Module, tokenLabel: string): graphene.Slot {
  const slot = slotWithLabel(module, tokenLabel);
  if (!slot) throw new DeviceError('DEVICE_TOKEN_NOT_FOUND', `no token labelled "${tokenLabel}"`);
  return slot;
}

interface SignRequest {
  mechanism: pkcs11.Mechanism;
  key: Buffer;
  /** What the device hashes, in parts, or the one digest a raw-sign mechanism signs. */
  input: Buffer[];
}

/**
 * A token in a PKCS#11 device, logged in as the user. Every private-key operation happens inside the
 * device; the host only hashes, encodes and decodes.
 */
export class Device implements Verifier {
  readonly vendor: VendorTable;
  readonly #config: DeviceConfig & { sessions: number };
  readonly #module: graphene.Module;
  readonly #lib: pkcs11.PKCS11;
  readonly #pool: SessionPool;
  #slot: graphene.Slot;
  #handles = new Map<string, Buffer>();
  #points = new Map<string, Uint8Array>();
  #verifyKeys = new VerifyKeyCache();
  // Master keys being made: the label check and the key generation are two calls.
  #creatingMasterKeys = new Set<string>();
  #closed = false;
  #observer: DeviceObserver | undefined;

  private constructor(
    config: DeviceConfig & { sessions: number },
    module: graphene.Module,
    slot: graphene.Slot,
  ) {
    const table = vendorTable(config.vendor);
    this.vendor = { ...table, quirks: { ...table.quirks, ...config.quirks } };
    this.#config = config;
    this.#module = module;
    this.#lib = module.lib;
    this.#slot = slot;
    this.#pool = new SessionPool(() => this.#openSession(), config.sessions);
  }

  /** Loads the module, finds the token and logs in; fails fast on a wrong PIN or a missing token. */
  static open(config: DeviceConfig): Device {
    const full = { ...config, sessions: config.sessions ?? 4 };
    if (!Number.isInteger(full.sessions) || full.sessions < 1) {
      throw new DeviceError('DEVICE_BAD_INPUT', `sessions must be a positive integer, not ${full.sessions}`);
    }
    vendorTable(full.vendor);
    let module: graphene.Module;
    try {
      module = acquireModule(full.module);
    } catch (error) {
      throw toDeviceError(error, `load ${full.module}`);
    }
    try {
      const device = new Device(full, module, findSlot(module, full.tokenLabel));
      device.#pool.release(device.#pool.acquireSync());
      return device;
    } catch (error) {
      releaseModule(full.module);
      throw toDeviceError(error, 'open device');
    }
  }

  /** Closes the sessions; the last device on a module finalises it. A second call does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pool.close();
    releaseModule(this.#config.module);
  }

  info(): DeviceInfo {
    const token = this.#slot.getToken();
    const v = this.#module.libraryVersion;
    const vendorNames = new Map<number, string>();
    for (const [name, type] of Object.entries(this.vendor.mechanisms)) {
      if (type !== null && !vendorNames.has(type)) vendorNames.set(type, `${this.vendor.name}:${name}`);
    }
    const list = this.#slot.getMechanisms();
    const mechanisms: DeviceInfo['mechanisms'] = [];
    for (let i = 0; i < list.length; i++) {
      const type = list.items(i).type;
      const known = vendorNames.get(type) ?? graphene.MechanismEnum[type];
      mechanisms.push({ type, name: known ?? `0x${type.toString(16)}` });
    }
    return {
      module: this.#config.module,
      vendor: this.vendor.name,
      library: {
        manufacturer: this.#module.manufacturerID,
        description: this.#module.libraryDescription,
        version: `${v.major}.${v.minor}`,
      },
      token: {
        label: token.label,
        manufacturer: token.manufacturerID,
        model: token.model,
        serialNumber: token.serialNumber,
      },
      mechanisms,
    };
  }

  /** Generates a key pair inside the device and returns its public key as SubjectPublicKeyInfo DER. */
  async generateKeyPair(options: KeyOptions): Promise<Uint8Array> {
    return this.#run('generate key pair', async ({ session }) => {
      if (this.#find(session, pkcs11.CKO_PRIVATE_KEY, options.label)) {
        throw new DeviceError('DEVICE_BAD_INPUT', `a key labelled "${options.label}" already exists`);
      }
      const publicTemplate = publicKeyTemplate(this.vendor, options, true);
      const privateTemplate = privateKeyTemplate(this.vendor, options);
      const keys = await settle(
        this.#lib.C_GenerateKeyPairAsync(
          session.handle,
          { mechanism: this.vendor.mechanisms.keyPairGen },
          publicTemplate,
          privateTemplate,
        ),
        [publicTemplate, privateTemplate],
      );
      this.#handles.set(`${pkcs11.CKO_PRIVATE_KEY}/${options.label}`, keys.privateKey);
      this.#handles.set(`${pkcs11.CKO_PUBLIC_KEY}/${options.label}`, keys.publicKey);
      this.#points.delete(options.label);
      return encodeSpki(this.vendor.curveOid, this.#publicPoint(session, options.label));
    });
  }

  async publicKey(label: string): Promise<Uint8Array> {
    return this.#run('read public key', async ({ session }) =>
      encodeSpki(this.vendor.curveOid, this.#publicPoint(session, label)),
    );
  }

  /** What the token holds under `label`, for a caller deciding whether a key found there is fit to use. */
  async inspectKeyPair(label: string): Promise<KeyPairInspection> {
    return this.#run('inspect key pair', async ({ session }) => {
      const [privateKeys, publicKeys] = [pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY].map((cls) =>
        this.#findAll(session, [
          { type: pkcs11.CKA_CLASS, value: cls },
          { type: pkcs11.CKA_LABEL, value: label },
        ]),
      ) as [Buffer[], Buffer[]];
      const counts = { privateKeys: privateKeys.length, publicKeys: publicKeys.length };
      const [first] = privateKeys;
      if (!first) return counts;
      const template = Object.values(privateKeyAttributeTypes).map((type) => ({ type }));
      const values = this.#lib.C_GetAttributeValue(session.handle, first, template);
      return { ...counts, privateKey: privateKeyAttributes(values) };
    });
  }

  /** What the token holds under `label` where a secret key (a master key) is expected. */
  async inspectSecretKey(label: string): Promise<SecretKeyInspection> {
    return this.#run('inspect secret key', async ({ session }) => {
      const all = this.#findAll(session, [{ type: pkcs11.CKA_LABEL, value: label }]);
      const secret = this.#findAll(session, [
        { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
        { type: pkcs11.CKA_LABEL, value: label },
      ]);
      const counts = { secretKeys: secret.length, otherObjects: all.length - secret.length };
      const [first] = secret;
      if (!first) return counts;
      const template = [pkcs11.CKA_KEY_TYPE, ...Object.values(secretKeyAttributeTypes)].map((type) => ({
        type,
      }));
      const values = this.#lib.C_GetAttributeValue(session.handle, first, template);
      return { ...counts, secretKey: secretKeyAttributes(values, this.vendor.keyTypes.secret) };
    });
  }

  /** SM2-with-SM3 (or ECDSA-SHA256 on SoftHSM) signature as DER SEQUENCE { r, s }, on a libuv thread. */
  async sign(label: string, data: Uint8Array, options: SignOptions = {}): Promise<Uint8Array> {
    return this.signParts(label, [data], options);
  }

  /**
   * The signature of the concatenation of `parts`, which reach the device one at a time
   * (C_SignUpdate): a CRL's TBS of tens of megabytes is never copied into one buffer. Each part
   * is hashed on the calling thread, so parts should stay around a megabyte.
   */
  async signParts(
    label: string,
    parts: readonly Uint8Array[],
    options: SignOptions = {},
  ): Promise<Uint8Array> {
    return this.#run('sign', async ({ session }) => {
      const { mechanism, key, input } = this.#signRequest(session, label, parts, options);
      this.#lib.C_SignInit(session.handle, mechanism, key);
      const out = Buffer.alloc(outputSize.signature);
      if (input.length === 1) {
        return this.#signatureOut(
          await settle(this.#lib.C_SignAsync(session.handle, input[0]!, out), [input, out]),
        );
      }
      for (const part of input) this.#lib.C_SignUpdate(session.handle, part);
      return this.#signatureOut(await settle(this.#lib.C_SignFinalAsync(session.handle, out), [out]));
    });
  }

  /** The same signature on the calling thread: no thread hop, but it blocks the event loop. */
  signSync(label: string, data: Uint8Array, options: SignOptions = {}): Uint8Array {
    return this.#runSync('sign', ({ session }) => {
      const { mechanism, key, input } = this.#signRequest(session, label, [data], options);
      this.#lib.C_SignInit(session.handle, mechanism, key);
      return this.#signatureOut(
        this.#lib.C_Sign(session.handle, input[0]!, Buffer.alloc(outputSize.signature)),
      );
    });
  }

  signer(label: string, options: SignOptions = {}): Signer & PartsSigner {
    return {
      sign: (data) => this.sign(label, data, options),
      signParts: (parts) => this.signParts(label, parts, options),
    };
  }

  /**
   * Verifies inside the device with `spki` imported as a session object, so the host needs no SM2
   * code; a key that verifies again and again stays imported.
   */
  async verify(
    spki: Uint8Array,
    data: Uint8Array,
    signature: Uint8Array,
    options: SignOptions = {},
  ): Promise<boolean> {
    const point = decodeSpki(spki, this.vendor.curveOid);
    let raw: Uint8Array;
    try {
      raw = this.vendor.quirks.signatureFormat === 'raw' ? derToRaw(signature) : signature;
    } catch {
      return false;
    }
    return this.#run('verify', async ({ session, generation, overflow }) => {
      const { mechanism, input } = this.#signMechanism(() => point, [data], options);
      let key = this.#verifyKeys.get(point, generation);
      let kept = key !== undefined;
      if (!key) {
        key = importPublicKey(this.#context(session), point, pkcs11.CKA_VERIFY);
        kept = this.#verifyKeys.keep(point, key, generation, overflow);
      }
      try {
        this.#lib.C_VerifyInit(session.handle, mechanism, key);
        const sig = Buffer.from(raw);
        return await settle(this.#lib.C_VerifyAsync(session.handle, input[0]!, sig), [input, sig]);
      } catch (error) {
        const ckr = ckrName(error);
        if (ckr === 'CKR_SIGNATURE_INVALID' || ckr === 'CKR_SIGNATURE_LEN_RANGE') return false;
        throw error;
      } finally {
        if (!kept) destroyObjects(this.#context(session), [key]);
      }
    });
  }

  /** SM2 encryption to a public key; the ciphertext is in the device's encoding (GM/T 0009 DER). */
  async encrypt(publicKey: PublicKeyRef, plaintext: Uint8Array): Promise<Uint8Array> {
    const mechanism = this.#mechanism('encrypt');
    return this.#withPublicKey('encrypt', publicKey, pkcs11.CKA_ENCRYPT, async (session, key) => {
      this.#lib.C_EncryptInit(session.handle, { mechanism }, key);
      const input = Buffer.from(plaintext);
      const out = Buffer.alloc(plaintext.length + outputSize.ciphertextOverhead);
      return new Uint8Array(await settle(this.#lib.C_EncryptAsync(session.handle, input, out), [input, out]));
    });
  }

  async decrypt(label: string, ciphertext: Uint8Array): Promise<Uint8Array> {
    const mechanism = this.#mechanism('encrypt');
    return this.#run('decrypt', async ({ session }) => {
      this.#lib.C_DecryptInit(
        session.handle,
        { mechanism },
        this.#key(session, pkcs11.CKO_PRIVATE_KEY, label),
      );
      const input = Buffer.from(ciphertext);
      const out = Buffer.alloc(ciphertext.length);
      return new Uint8Array(await settle(this.#lib.C_DecryptAsync(session.handle, input, out), [input, out]));
    });
  }

  /** SM3 (SHA-256 on SoftHSM); hashed on the host when the device has no digest mechanism. */
  async digest(data: Uint8Array): Promise<Uint8Array> {
    const mechanism = this.vendor.mechanisms.digest;
    if (mechanism === null) return new Uint8Array(hostDigest(this.vendor.algorithm, data));
    return this.#run('digest', async ({ session }) => {
      this.#lib.C_DigestInit(session.handle, { mechanism });
      const input = Buffer.from(data);
      const out = Buffer.alloc(outputSize.digest);
      return new Uint8Array(await settle(this.#lib.C_DigestAsync(session.handle, input, out), [input, out]));
    });
  }

  /** An SM4 (AES on SoftHSM) key inside the device. */
  async generateSecretKey(options: KeyOptions): Promise<void> {
    await this.#run('generate secret key', async ({ session }) => {
      if (this.#find(session, pkcs11.CKO_SECRET_KEY, options.label)) {
        throw new DeviceError('DEVICE_BAD_INPUT', `a key labelled "${options.label}" already exists`);
      }
      const template = secretKeyTemplate(this.vendor, options, true);
      const key = await settle(
        this.#lib.C_GenerateKeyAsync(
          session.handle,
          { mechanism: this.vendor.mechanisms.secretKeyGen },
          template,
        ),
        [template],
      );
      this.#handles.set(`${pkcs11.CKO_SECRET_KEY}/${options.label}`, key);
    });
  }

  /**
   * Encrypts whole blocks under the secret key `label`: ECB without an IV, CBC with one. No padding, as
   * the GM vendor mechanisms define it.
   */
  async secretEncrypt(label: string, data: Uint8Array, iv?: Uint8Array): Promise<Uint8Array> {
    return this.#secretCipher('encrypt', label, data, iv);
  }

  async secretDecrypt(label: string, data: Uint8Array, iv?: Uint8Array): Promise<Uint8Array> {
    return this.#secretCipher('decrypt', label, data, iv);
  }

  /** The private key `label` encrypted under the secret key `wrappingLabel` (SM4-ECB on SM2 devices). */
  async wrapPrivateKey(wrappingLabel: string, label: string): Promise<Uint8Array> {
    const mechanism = this.#mechanism('wrapPrivate');
    return this.#run('wrap private key', async ({ session }) => {
      const wrapping = this.#key(session, pkcs11.CKO_SECRET_KEY, wrappingLabel);
      const key = this.#key(session, pkcs11.CKO_PRIVATE_KEY, label);
      return wrapKey(this.#context(session), mechanism, wrapping, key);
    });
  }

  async unwrapPrivateKey(wrappingLabel: string, wrapped: Uint8Array, options: KeyOptions): Promise<void> {
    const mechanism = this.#mechanism('wrapPrivate');
    await this.#run('unwrap private key', async ({ session }) => {
      const wrapping = this.#key(session, pkcs11.CKO_SECRET_KEY, wrappingLabel);
      const input = Buffer.from(wrapped);
      const template = privateKeyTemplate(this.vendor, options);
      const key = await settle(
        this.#lib.C_UnwrapKeyAsync(session.handle, { mechanism }, wrapping, input, template),
        [input, template],
      );
      this.#handles.set(`${pkcs11.CKO_PRIVATE_KEY}/${options.label}`, key);
    });
  }

  /** The secret key `label` encrypted to a public key (SM2 encryption on SM2 devices). */
  async wrapSecretKey(publicKey: PublicKeyRef, label: string): Promise<Uint8Array> {
    const mechanism = this.#mechanism('wrapSecret');
    return this.#withPublicKey('wrap secret key', publicKey, pkcs11.CKA_WRAP, async (session, wrapping) => {
      const key = this.#key(session, pkcs11.CKO_SECRET_KEY, label);
      return wrapKey(this.#context(session), mechanism, wrapping, key);
    });
  }

  async unwrapSecretKey(privateLabel: string, wrapped: Uint8Array, options: KeyOptions): Promise<void> {
    const mechanism = this.#mechanism('wrapSecret');
    await this.#run('unwrap secret key', async ({ session }) => {
      const unwrapping = this.#key(session, pkcs11.CKO_PRIVATE_KEY, privateLabel);
      const input = Buffer.from(wrapped);
      const template = secretKeyTemplate(this.vendor, options, false);
      const key = await settle(
        this.#lib.C_UnwrapKeyAsync(session.handle, { mechanism }, unwrapping, input, template),
        [input, template],
      );
      this.#handles.set(`${pkcs11.CKO_SECRET_KEY}/${options.label}`, key);
    });
  }

  async random(length: number): Promise<Uint8Array> {
    return this.#run(
      'random',
      async ({ session }) => new Uint8Array(this.#lib.C_GenerateRandom(session.handle, Buffer.alloc(length))),
    );
  }

  /** Destroys every object labelled `label`; resolves to how many there were. */
  async deleteKey(label: string): Promise<number> {
    return this.#run('delete key', async ({ session }) => {
      const handles = this.#findAll(session, [{ type: pkcs11.CKA_LABEL, value: label }]);
      for (const handle of handles) this.#lib.C_DestroyObject(session.handle, handle);
      for (const cls of [pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY, pkcs11.CKO_SECRET_KEY]) {
        this.#handles.delete(`${cls}/${label}`);
      }
      this.#points.delete(label);
      return handles.length;
    });
  }

  /** Whether the token holds any object labelled `label`. */
  async hasKey(label: string): Promise<boolean> {
    return this.#run(
      'look up key',
      async ({ session }) => this.#findAll(session, [{ type: pkcs11.CKA_LABEL, value: label }]).length > 0,
    );
  }

  /**
   * A key-management master key: an SM4 (AES on SoftHSM) token key that wraps and unwraps only and is
   * never extractable. Refuses with DEVICE_KEY_EXISTS when anything holds the label already (two
   * processes making the same label at once can still both succeed: PKCS#11 has no create-if-absent).
   */
  async createMasterKey(label: string): Promise<void> {
    if (this.#creatingMasterKeys.has(label)) {
      throw new DeviceError('DEVICE_KEY_EXISTS', `a master key labelled "${label}" is being made already`);
    }
    this.#creatingMasterKeys.add(label);
    try {
      await this.#run('create master key', ({ session }) => createMasterKey(this.#context(session), label));
    } finally {
      this.#creatingMasterKeys.delete(label);
    }
  }

  /** A key pair made in the device whose private key leaves it only wrapped under the master key. */
  async generateWrappedKeyPair(masterLabel: string): Promise<WrappedKeyPair> {
    return this.#run('generate wrapped key pair', ({ session }) =>
      generateWrappedKeyPair(this.#context(session), this.#key(session, pkcs11.CKO_SECRET_KEY, masterLabel)),
    );
  }

  /**
   * A private key from generateWrappedKeyPair, re-wrapped inside the device as a GM/T 0009
   * SM2EnvelopedKey (DER) to `recipientSpki`. DEVICE_KEY_MISMATCH when the blob was wrapped under
   * another master key, or does not belong to `expectedPublicKey` (SPKI) when that is given.
   */
  async envelopeWrappedKey(
    masterLabel: string,
    wrappedPrivateKey: Uint8Array,
    recipientSpki: Uint8Array,
    expectedPublicKey?: Uint8Array,
  ): Promise<Uint8Array> {
    const recipient = this.#point(recipientSpki, 'recipient public key');
    const expected = expectedPublicKey && this.#point(expectedPublicKey, 'expected public key');
    return this.#run('envelope wrapped key', ({ session }) =>
      envelopeWrappedKey(
        this.#context(session),
        this.#key(session, pkcs11.CKO_SECRET_KEY, masterLabel),
        wrappedPrivateKey,
        recipient,
        expected,
      ),
    );
  }

  /**
   * The private key `label` wrapped under a fresh trusted SM4 key that the security officer makes for
   * this call alone (`soPin`); the key value is returned for the caller to split. Only a key generated
   * with `backup: true` can be wrapped this way. Signs nothing.
   */
  async backupPrivateKey(label: string, soPin: string): Promise<PrivateKeyBackup> {
    return this.#run('back up private key', ({ session }) =>
      backupPrivateKey(this.#context(session), this.#key(session, pkcs11.CKO_PRIVATE_KEY, label), {
        soPin,
        userPin: this.#config.pin,
      }),
    );
  }

  /**
   * A backup made by backupPrivateKey, unwrapped as the token key pair `label` (sensitive, never
   * extractable, sign-only); resolves to its SubjectPublicKeyInfo. DEVICE_KEY_MISMATCH when
   * `secretKey` is not the backup's key, DEVICE_KEY_EXISTS when the label is taken.
   */
  async restorePrivateKey(
    secretKey: Uint8Array,
    wrappedPrivateKey: Uint8Array,
    label: string,
  ): Promise<Uint8Array> {
    return this.#run('restore private key', async ({ session }) => {
      const point = await restorePrivateKey(this.#context(session), secretKey, wrappedPrivateKey, label);
      this.#points.set(label, point);
      return encodeSpki(this.vendor.curveOid, point);
    });
  }

  #point(spki: Uint8Array, what: string): Uint8Array {
    try {
      return decodeSpki(spki, this.vendor.curveOid);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new DeviceError('DEVICE_BAD_INPUT', `${what}: ${message}`, undefined, { cause: error });
    }
  }

  async #secretCipher(
    direction: 'encrypt' | 'decrypt',
    label: string,
    data: Uint8Array,
    iv: Uint8Array | undefined,
  ): Promise<Uint8Array> {
    const mechanism: pkcs11.Mechanism = iv
      ? { mechanism: this.#mechanism('secretCbc'), parameter: Buffer.from(iv) }
      : { mechanism: this.#mechanism('secretEcb') };
    return this.#run(`secret-key ${direction}`, async ({ session }) => {
      const key = this.#key(session, pkcs11.CKO_SECRET_KEY, label);
      const input = Buffer.from(data);
      const out = Buffer.alloc(data.length);
      let call: Promise<Buffer>;
      if (direction === 'encrypt') {
        this.#lib.C_EncryptInit(session.handle, mechanism, key);
        call = this.#lib.C_EncryptAsync(session.handle, input, out);
      } else {
        this.#lib.C_DecryptInit(session.handle, mechanism, key);
        call = this.#lib.C_DecryptAsync(session.handle, input, out);
      }
      return new Uint8Array(await settle(call, [input, out, mechanism]));
    });
  }

  #mechanism(name: keyof VendorTable['mechanisms']): number {
    return mechanismOf(this.vendor, name);
  }

  #context(session: graphene.Session): SessionContext {
    return { lib: this.#lib, session: session.handle, vendor: this.vendor };
  }

  #signMechanism(
    publicPoint: () => Uint8Array,
    parts: readonly Uint8Array[],
    options: SignOptions,
  ): { mechanism: pkcs11.Mechanism; input: Buffer[] } {
    const { algorithm, quirks } = this.vendor;
    const id = signerIdBytes(options.signerId);
    if (quirks.signMode === 'device') {
      const mechanism: pkcs11.Mechanism = { mechanism: this.#mechanism('sign') };
      // Only a non-default ID goes in the parameter: an absent parameter means the GM default.
      if (algorithm === 'sm2' && !id.equals(defaultSignerId)) mechanism.parameter = id;
      return { mechanism, input: parts.map(buffer) };
    }
    return {
      mechanism: { mechanism: this.#mechanism('signRaw') },
      input: [hostSignInput(algorithm, publicPoint, id, parts)],
    };
  }

  #signRequest(
    session: graphene.Session,
    label: string,
    parts: readonly Uint8Array[],
    options: SignOptions,
  ): SignRequest {
    const key = this.#key(session, pkcs11.CKO_PRIVATE_KEY, label);
    return { ...this.#signMechanism(() => this.#publicPoint(session, label), parts, options), key };
  }

  #signatureOut(signature: Buffer): Uint8Array {
    return this.vendor.quirks.signatureFormat === 'raw' ? rawToDer(signature) : new Uint8Array(signature);
  }

  async #withPublicKey<T>(
    operation: string,
    ref: PublicKeyRef,
    usage: number,
    body: (session: graphene.Session, key: Buffer) => Promise<T>,
  ): Promise<T> {
    if (typeof ref === 'string') {
      return this.#run(operation, ({ session }) =>
        body(session, this.#key(session, pkcs11.CKO_PUBLIC_KEY, ref)),
      );
    }
    const point = decodeSpki(ref, this.vendor.curveOid);
    return this.#run(operation, async ({ session }) => {
      const key = importPublicKey(this.#context(session), point, usage);
      try {
        return await body(session, key);
      } finally {
        destroyObjects(this.#context(session), [key]);
      }
    });
  }

  #publicPoint(session: graphene.Session, label: string): Uint8Array {
    const cached = this.#points.get(label);
    if (cached) return cached;
    const handle = this.#key(session, pkcs11.CKO_PUBLIC_KEY, label);
    const point = readPoint(this.#context(session), handle, `public key "${label}"`);
    this.#points.set(label, point);
    return point;
  }

  #key(session: graphene.Session, cls: number, label: string): Buffer {
    const cacheKey = `${cls}/${label}`;
    const cached = this.#handles.get(cacheKey);
    if (cached) return cached;
    const handle = this.#find(session, cls, label);
    if (!handle) throw new DeviceError('DEVICE_KEY_NOT_FOUND', `no key labelled "${label}" on the token`);
    this.#handles.set(cacheKey, handle);
    return handle;
  }

  #find(session: graphene.Session, cls: number, label: string): Buffer | undefined {
    return this.#findAll(session, [
      { type: pkcs11.CKA_CLASS, value: cls },
      { type: pkcs11.CKA_LABEL, value: label },
    ])[0];
  }

  #findAll(session: graphene.Session, template: pkcs11.Template): Buffer[] {
    return findObjects(this.#context(session), template);
  }

  #openSession(): graphene.Session {
    const session = this.#slot.open(graphene.SessionFlag.RW_SESSION | graphene.SessionFlag.SERIAL_SESSION);
    try {
      // Login is per token, not per session: later sessions usually find the user logged in already.
      const { state } = this.#lib.C_GetSessionInfo(session.handle);
      if (publicSessionStates.has(state)) {
        try {
          session.login(this.#config.pin, graphene.UserType.USER);
        } catch (error) {
          if (ckrName(error) !== 'CKR_USER_ALREADY_LOGGED_IN') throw error;
        }
      }
      return session;
    } catch (error) {
      session.close();
      throw error;
    }
  }

  /** Decides whether a failed operation is retried, reconnecting first when the sessions are gone. */
  #recover(error: unknown, generation: number): boolean {
    const ckr = ckrName(error);
    if (!ckr) return false;
    if (staleHandle.has(ckr)) {
      this.#handles.clear();
      this.#points.clear();
      this.#verifyKeys.clear();
      return true;
    }
    if (!reconnectable.has(ckr)) return false;
    // Another operation that failed the same way has reconnected already.
    if (generation !== this.#pool.generation) return true;
    this.#handles.clear();
    this.#points.clear();
    try {
      if (ckr === 'CKR_CRYPTOKI_NOT_INITIALIZED') reinitializeModule(this.#config.module);
      this.#slot = findSlot(this.#module, this.#config.tokenLabel);
    } catch (reconnectError) {
      throw toDeviceError(reconnectError, `reconnect after ${ckr}`);
    } finally {
      this.#pool.reset();
    }
    return true;
  }

  async #run<T>(operation: string, body: (lease: Lease) => Promise<T>): Promise<T> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      let lease: Lease | undefined;
      const generation = this.#pool.generation;
      try {
        lease = await this.#pool.acquire();
        const result = await body(lease);
        this.#observer?.(operation, (performance.now() - started) / 1000);
        return result;
      } catch (error) {
        if (attempt === 0 && this.#recover(error, lease?.generation ?? generation)) continue;
        throw this.#failed(operation, started, error);
      } finally {
        if (lease) this.#pool.release(lease);
      }
    }
  }

  #runSync<T>(operation: string, body: (lease: Lease) => T): T {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      let lease: Lease | undefined;
      const generation = this.#pool.generation;
      try {
        lease = this.#pool.acquireSync();
        const result = body(lease);
        this.#observer?.(operation, (performance.now() - started) / 1000);
        return result;
      } catch (error) {
        if (attempt === 0 && this.#recover(error, lease?.generation ?? generation)) continue;
        throw this.#failed(operation, started, error);
      } finally {
        if (lease) this.#pool.release(lease);
      }
    }
  }

  #failed(operation: string, started: number, error: unknown): DeviceError {
    const failure = toDeviceError(error, operation);
    this.#observer?.(operation, (performance.now() - started) / 1000, failure);
    return failure;
  }

  /**
   * Told of every operation when it ends: its name, seconds taken (waiting for a session
   * included) and the error when it failed. One observer; a later call replaces it.
   */
  observe(observer: DeviceObserver): void {
    this.#observer = observer;
  }
}

export type DeviceObserver = (operation: string, seconds: number, error?: DeviceError) => void;

export async function openDevice(config: DeviceConfig): Promise<Device> {
  return Device.open(config);
}
