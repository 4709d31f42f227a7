// Shared helpers for the hsm-sim tests: loading the module against a fresh
// token directory, PKCS#11 return-code capture, and SM2 encodings.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pkcs11js from 'pkcs11js';

export { pkcs11js };
export type PKCS11 = InstanceType<typeof pkcs11js.PKCS11>;
export type Handle = Buffer;

export const HSM_DIR = fileURLToPath(new URL('..', import.meta.url));
export const MODULE = join(HSM_DIR, 'build', 'libhsm-sim.so');

export const CKK_SM2 = 0x80000004;
export const CKK_SM4 = 0x80000106;
export const CKM_SM2_KEY_PAIR_GEN = 0x80008001;
export const CKM_SM2_SM3 = 0x80008100;
export const CKM_SM2_RAW = 0x80008104;
export const CKM_SM2_ENC = 0x80008200;
export const CKM_SM3 = 0x80009001;
export const CKM_SM4_KEY_GEN = 0x80000107;
export const CKM_SM4_ECB = 0x80000108;
export const CKM_SM4_CBC = 0x80000109;

export const SO_PIN = '87654321';
export const USER_PIN = '123456';
export const RW = pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION;

/** Builds the module (a no-op when up to date). Test files run in parallel, so
 * concurrent makes are serialised with flock(1) when it is available. */
export function buildModule(): void {
  const make = ['make', '-s', '-C', HSM_DIR];
  const lock = join(tmpdir(), 'hsm-sim-make.lock');
  if (existsSync('/usr/bin/flock')) execFileSync('/usr/bin/flock', [lock, ...make], { stdio: 'inherit' });
  else execFileSync(make[0]!, make.slice(1), { stdio: 'inherit' });
}

export function tempTokenDir(): string {
  return mkdtempSync(join(tmpdir(), 'hsmsim-test-'));
}

/** Loads and initialises the module; HSMSIM_DIR is read at C_Initialize. */
export function openModule(dir: string): PKCS11 {
  process.env.HSMSIM_DIR = dir;
  const p = new pkcs11js.PKCS11();
  p.load(MODULE);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  return p;
}

/** Runs fn and returns the CKR_* name it failed with, or 'CKR_OK'. */
export function rv(fn: () => unknown): string {
  try {
    fn();
    return 'CKR_OK';
  } catch (e) {
    const m = /CKR_[A-Z_]+/.exec(String((e as Error).message ?? e));
    if (!m) throw e;
    return m[0];
  }
}

export function slotHandle(p: PKCS11, index = 0): Handle {
  const slot = p.C_GetSlotList(true)[index];
  if (!slot) throw new Error(`no slot ${index}`);
  return slot;
}

/** Initialises a token with SO and user PINs and returns a logged-in R/W session. */
export function initToken(p: PKCS11, slot: Handle, label = 'test'): Handle {
  p.C_InitToken(slot, SO_PIN, label);
  const s = p.C_OpenSession(slot, RW);
  p.C_Login(s, pkcs11js.CKU_SO, SO_PIN);
  p.C_InitPIN(s, USER_PIN);
  p.C_Logout(s);
  p.C_Login(s, pkcs11js.CKU_USER, USER_PIN);
  return s;
}

export interface Sm2Pair {
  pub: Handle;
  priv: Handle;
  /** 04 || X || Y */
  point: Buffer;
}

export interface KeyOptions {
  token?: boolean;
  extractable?: boolean;
  sensitive?: boolean;
  label?: string;
  id?: Buffer;
}

export function generateSm2(p: PKCS11, s: Handle, o: KeyOptions = {}): Sm2Pair {
  const common = [
    { type: pkcs11js.CKA_TOKEN, value: o.token ?? false },
    { type: pkcs11js.CKA_LABEL, value: o.label ?? 'sm2' },
    { type: pkcs11js.CKA_ID, value: o.id ?? Buffer.from('01', 'hex') },
  ];
  const priv = [...common];
  if (o.extractable !== undefined) priv.push({ type: pkcs11js.CKA_EXTRACTABLE, value: o.extractable });
  if (o.sensitive !== undefined) priv.push({ type: pkcs11js.CKA_SENSITIVE, value: o.sensitive });
  const kp = p.C_GenerateKeyPair(s, { mechanism: CKM_SM2_KEY_PAIR_GEN }, common, priv);
  return { pub: kp.publicKey, priv: kp.privateKey, point: ecPoint(p, s, kp.publicKey) };
}

/** One attribute's bytes; throws when the module returned none. */
export function attr(p: PKCS11, s: Handle, obj: Handle, type: number): Buffer {
  const [a] = p.C_GetAttributeValue(s, obj, [{ type }]);
  if (!a || !Buffer.isBuffer(a.value)) throw new Error(`attribute ${type} missing`);
  return a.value;
}

export function ecPoint(p: PKCS11, s: Handle, key: Handle): Buffer {
  const der = attr(p, s, key, pkcs11js.CKA_EC_POINT);
  if (der.length !== 67 || der[0] !== 0x04 || der[1] !== 0x41) throw new Error('unexpected CKA_EC_POINT');
  return der.subarray(2);
}

export function generateSm4(p: PKCS11, s: Handle, o: KeyOptions = {}): Handle {
  const t = [
    { type: pkcs11js.CKA_TOKEN, value: o.token ?? false },
    { type: pkcs11js.CKA_LABEL, value: o.label ?? 'sm4' },
  ];
  if (o.extractable !== undefined) t.push({ type: pkcs11js.CKA_EXTRACTABLE, value: o.extractable });
  if (o.sensitive !== undefined) t.push({ type: pkcs11js.CKA_SENSITIVE, value: o.sensitive });
  return p.C_GenerateKey(s, { mechanism: CKM_SM4_KEY_GEN }, t);
}

export function sign(p: PKCS11, s: Handle, key: Handle, msg: Buffer, id?: Buffer): Buffer {
  p.C_SignInit(s, id ? { mechanism: CKM_SM2_SM3, parameter: id } : { mechanism: CKM_SM2_SM3 }, key);
  return p.C_Sign(s, msg, Buffer.alloc(128));
}

export function verify(p: PKCS11, s: Handle, key: Handle, msg: Buffer, sig: Buffer, id?: Buffer): boolean {
  p.C_VerifyInit(s, id ? { mechanism: CKM_SM2_SM3, parameter: id } : { mechanism: CKM_SM2_SM3 }, key);
  return p.C_Verify(s, msg, sig);
}

export function importSm2Public(p: PKCS11, s: Handle, point: Buffer): Handle {
  return p.C_CreateObject(s, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM2 },
    { type: pkcs11js.CKA_TOKEN, value: false },
    { type: pkcs11js.CKA_EC_POINT, value: Buffer.concat([Buffer.from([0x04, 0x41]), point]) },
  ]);
}

/** SubjectPublicKeyInfo: id-ecPublicKey with namedCurve SM2 (1.2.156.10197.1.301). */
export function spkiPem(point: Buffer): string {
  const der = Buffer.concat([
    Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex'),
    point,
  ]);
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
}

function readLen(b: Buffer, off: number): [number, number] {
  const first = b[off] ?? 0;
  if (first < 0x80) return [first, off + 1];
  let len = 0;
  const n = first & 0x7f;
  for (let i = 0; i < n; i++) len = (len << 8) | (b[off + 1 + i] ?? 0);
  return [len, off + 1 + n];
}

function readTlv(b: Buffer, off: number, tag: number): [Buffer, number] {
  if (b[off] !== tag) throw new Error(`expected tag ${tag} at ${off}`);
  const [len, start] = readLen(b, off + 1);
  return [b.subarray(start, start + len), start + len];
}

function fixed32(int: Buffer): Buffer {
  const trimmed = int[0] === 0 ? int.subarray(1) : int;
  return Buffer.concat([Buffer.alloc(32 - trimmed.length), trimmed]);
}

/** GM/T 0009 DER ciphertext -> raw C1(without 04) || C3 || C2 hex, sm-crypto's mode 1 format. */
export function derToC1C3C2(der: Buffer): string {
  const [seq] = readTlv(der, 0, 0x30);
  const [x, o1] = readTlv(seq, 0, 0x02);
  const [y, o2] = readTlv(seq, o1, 0x02);
  const [hash, o3] = readTlv(seq, o2, 0x04);
  const [ct] = readTlv(seq, o3, 0x04);
  return Buffer.concat([fixed32(x), fixed32(y), hash, ct]).toString('hex');
}

function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLen(body.length), body]);
}

function derInt(v: Buffer): Buffer {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  const t = v.subarray(i);
  return tlv(0x02, (t[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), t]) : t);
}

/** sm-crypto mode-1 hex (C1 without 04 || C3 || C2) -> GM/T 0009 DER. */
export function c1c3c2ToDer(hex: string): Buffer {
  const b = Buffer.from(hex, 'hex');
  const x = b.subarray(0, 32);
  const y = b.subarray(32, 64);
  const hash = b.subarray(64, 96);
  const ct = b.subarray(96);
  return tlv(0x30, Buffer.concat([derInt(x), derInt(y), tlv(0x04, hash), tlv(0x04, ct)]));
}
