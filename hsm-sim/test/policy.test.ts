// Access policy, error codes, persistence and at-rest encryption.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attr,
  buildModule,
  CKK_SM2,
  CKK_SM4,
  CKM_SM2_ENC,
  CKM_SM2_RAW,
  CKM_SM2_SM3,
  CKM_SM3,
  CKM_SM4_ECB,
  generateSm2,
  generateSm4,
  type Handle,
  initToken,
  openModule,
  type PKCS11,
  pkcs11js,
  RW,
  rv,
  SO_PIN,
  sign,
  slotHandle,
  tempTokenDir,
  USER_PIN,
  verify,
} from './p11.ts';

let p: PKCS11;
let dir: string;
let slot: Handle;
let s: Handle;

const CKF_RNG = 0x1;
const CKF_LOGIN_REQUIRED = 0x4;
const CKF_USER_PIN_INITIALIZED = 0x8;
const CKF_TOKEN_INITIALIZED = 0x400;

function find(sess: Handle, template: pkcs11js.Template): Handle[] {
  p.C_FindObjectsInit(sess, template);
  const found = p.C_FindObjects(sess, 1000);
  p.C_FindObjectsFinal(sess);
  return found;
}

function allBytes(root: string): Buffer[] {
  const out: Buffer[] = [];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (statSync(path).isDirectory()) out.push(...allBytes(path));
    else out.push(readFileSync(path));
  }
  return out;
}

beforeAll(() => {
  buildModule();
  dir = tempTokenDir();
  p = openModule(dir);
  slot = slotHandle(p);
});

afterAll(() => {
  try {
    p.C_Finalize();
  } catch {
    // already finalised by a test
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('token life cycle and login', () => {
  it('reports token flags through initialisation', () => {
    let info = p.C_GetTokenInfo(slot);
    expect(info.flags & CKF_TOKEN_INITIALIZED).toBe(0);
    expect(info.flags & CKF_RNG).toBe(CKF_RNG);
    p.C_InitToken(slot, SO_PIN, 'policy');
    info = p.C_GetTokenInfo(slot);
    expect(info.label.trim()).toBe('policy');
    expect(info.flags & CKF_TOKEN_INITIALIZED).toBe(CKF_TOKEN_INITIALIZED);
    expect(info.flags & CKF_USER_PIN_INITIALIZED).toBe(0);
    expect(info.flags & CKF_LOGIN_REQUIRED).toBe(CKF_LOGIN_REQUIRED);

    s = p.C_OpenSession(slot, RW);
    expect(rv(() => p.C_Login(s, pkcs11js.CKU_USER, USER_PIN))).toBe('CKR_USER_PIN_NOT_INITIALIZED');
    expect(rv(() => p.C_InitPIN(s, USER_PIN))).toBe('CKR_USER_NOT_LOGGED_IN');
    expect(rv(() => p.C_Login(s, pkcs11js.CKU_SO, 'wrong-pin'))).toBe('CKR_PIN_INCORRECT');
    p.C_Login(s, pkcs11js.CKU_SO, SO_PIN);
    expect(rv(() => p.C_Login(s, pkcs11js.CKU_SO, SO_PIN))).toBe('CKR_USER_ALREADY_LOGGED_IN');
    p.C_InitPIN(s, USER_PIN);
    p.C_Logout(s);
    expect(p.C_GetTokenInfo(slot).flags & CKF_USER_PIN_INITIALIZED).toBe(CKF_USER_PIN_INITIALIZED);
    expect(rv(() => p.C_Logout(s))).toBe('CKR_USER_NOT_LOGGED_IN');
    expect(rv(() => p.C_Login(s, pkcs11js.CKU_USER, '000000'))).toBe('CKR_PIN_INCORRECT');
    p.C_Login(s, pkcs11js.CKU_USER, USER_PIN);
    expect(rv(() => p.C_Login(s, pkcs11js.CKU_USER, USER_PIN))).toBe('CKR_USER_ALREADY_LOGGED_IN');
    expect(p.C_GetSessionInfo(s).state).toBe(3); // CKS_RW_USER_FUNCTIONS
  });

  it('refuses to re-initialise with the wrong SO PIN or while sessions are open', () => {
    const other = slotHandle(p, 1);
    p.C_InitToken(other, SO_PIN, 'second');
    expect(rv(() => p.C_InitToken(other, 'bad-so-pin', 'second'))).toBe('CKR_PIN_INCORRECT');
    const os = p.C_OpenSession(other, RW);
    expect(rv(() => p.C_InitToken(other, SO_PIN, 'second'))).toBe('CKR_SESSION_EXISTS');
    p.C_CloseSession(os);
  });
});

describe('key protection', () => {
  it('keeps non-extractable keys in: no CKA_VALUE, no wrapping', () => {
    const k = generateSm2(p, s, { label: 'locked' });
    const kek = generateSm4(p, s);
    expect(rv(() => p.C_GetAttributeValue(s, k.priv, [{ type: pkcs11js.CKA_VALUE }]))).toBe(
      'CKR_ATTRIBUTE_SENSITIVE',
    );
    expect(rv(() => p.C_WrapKey(s, { mechanism: CKM_SM4_ECB }, kek, k.priv, Buffer.alloc(64)))).toBe(
      'CKR_KEY_UNEXTRACTABLE',
    );
    const flags = [
      pkcs11js.CKA_ALWAYS_SENSITIVE,
      pkcs11js.CKA_NEVER_EXTRACTABLE,
      pkcs11js.CKA_LOCAL,
      pkcs11js.CKA_SENSITIVE,
      pkcs11js.CKA_EXTRACTABLE,
    ].map((t) => attr(p, s, k.priv, t)[0]);
    expect(flags).toEqual([1, 1, 1, 1, 0]);
    // an extractable but sensitive key can be wrapped, still not read
    const w = generateSm2(p, s, { extractable: true });
    expect(rv(() => p.C_GetAttributeValue(s, w.priv, [{ type: pkcs11js.CKA_VALUE }]))).toBe(
      'CKR_ATTRIBUTE_SENSITIVE',
    );
    expect(p.C_WrapKey(s, { mechanism: CKM_SM4_ECB }, kek, w.priv, Buffer.alloc(64)).length).toBe(32);
  });

  it('hides private objects before login', () => {
    const k = generateSm2(p, s, { token: true, label: 'hidden' });
    expect(find(s, [{ type: pkcs11js.CKA_LABEL, value: 'hidden' }])).toHaveLength(2);
    p.C_Logout(s);
    const visible = find(s, [{ type: pkcs11js.CKA_LABEL, value: 'hidden' }]);
    expect(visible).toHaveLength(1);
    expect(visible[0]?.equals(k.pub)).toBe(true);
    expect(find(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }])).toHaveLength(0);
    expect(rv(() => p.C_GetAttributeValue(s, k.priv, [{ type: pkcs11js.CKA_LABEL }]))).toBe(
      'CKR_OBJECT_HANDLE_INVALID',
    );
    expect(rv(() => p.C_SignInit(s, { mechanism: CKM_SM2_SM3 }, k.priv))).toBe('CKR_KEY_HANDLE_INVALID');
    p.C_Login(s, pkcs11js.CKU_USER, USER_PIN);
    expect(find(s, [{ type: pkcs11js.CKA_LABEL, value: 'hidden' }])).toHaveLength(2);
    const msg = Buffer.from('after re-login');
    expect(verify(p, s, k.pub, msg, sign(p, s, k.priv, msg))).toBe(true);
  });
});

describe('error codes', () => {
  it('rejects bad handles', () => {
    const bogus = Buffer.from([0x39, 0x30, 0, 0, 0, 0, 0, 0]);
    expect(rv(() => p.C_GetSessionInfo(bogus))).toBe('CKR_SESSION_HANDLE_INVALID');
    expect(rv(() => p.C_GetAttributeValue(s, bogus, [{ type: pkcs11js.CKA_LABEL }]))).toBe(
      'CKR_OBJECT_HANDLE_INVALID',
    );
    expect(rv(() => p.C_DestroyObject(s, bogus))).toBe('CKR_OBJECT_HANDLE_INVALID');
    expect(rv(() => p.C_SignInit(s, { mechanism: CKM_SM2_SM3 }, bogus))).toBe('CKR_KEY_HANDLE_INVALID');
  });

  it('rejects unsupported mechanisms, bad parameters and mismatched keys', () => {
    const k = generateSm2(p, s);
    const sm4 = generateSm4(p, s);
    expect(rv(() => p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, k.priv))).toBe(
      'CKR_MECHANISM_INVALID',
    );
    expect(rv(() => p.C_DigestInit(s, { mechanism: pkcs11js.CKM_SHA256 }))).toBe('CKR_MECHANISM_INVALID');
    expect(rv(() => p.C_GetMechanismInfo(slot, pkcs11js.CKM_RSA_PKCS))).toBe('CKR_MECHANISM_INVALID');
    expect(
      rv(() =>
        p.C_GenerateKeyPair(
          s,
          { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
          [],
          [{ type: pkcs11js.CKA_TOKEN, value: false }],
        ),
      ),
    ).toBe('CKR_MECHANISM_INVALID');
    expect(rv(() => p.C_SignInit(s, { mechanism: CKM_SM2_RAW, parameter: Buffer.from('id') }, k.priv))).toBe(
      'CKR_MECHANISM_PARAM_INVALID',
    );
    expect(rv(() => p.C_SignInit(s, { mechanism: CKM_SM2_SM3 }, sm4))).toBe('CKR_KEY_TYPE_INCONSISTENT');
    expect(rv(() => p.C_SignInit(s, { mechanism: CKM_SM2_SM3 }, k.pub))).toBe('CKR_KEY_TYPE_INCONSISTENT');
    expect(rv(() => p.C_EncryptInit(s, { mechanism: CKM_SM4_ECB }, k.pub))).toBe('CKR_KEY_TYPE_INCONSISTENT');
    expect(rv(() => p.C_EncryptInit(s, { mechanism: CKM_SM2_ENC }, sm4))).toBe('CKR_KEY_TYPE_INCONSISTENT');
  });

  it('tracks operation state and keeps it across CKR_BUFFER_TOO_SMALL', () => {
    const k = generateSm2(p, s);
    const msg = Buffer.from('two-call convention');
    expect(rv(() => p.C_Sign(s, msg, Buffer.alloc(80)))).toBe('CKR_OPERATION_NOT_INITIALIZED');
    p.C_SignInit(s, { mechanism: CKM_SM2_SM3 }, k.priv);
    expect(rv(() => p.C_SignInit(s, { mechanism: CKM_SM2_SM3 }, k.priv))).toBe('CKR_OPERATION_ACTIVE');
    expect(rv(() => p.C_Sign(s, msg, Buffer.alloc(8)))).toBe('CKR_BUFFER_TOO_SMALL');
    const sig = p.C_Sign(s, msg, Buffer.alloc(80));
    expect(verify(p, s, k.pub, msg, sig)).toBe(true);
    expect(rv(() => p.C_Sign(s, msg, Buffer.alloc(80)))).toBe('CKR_OPERATION_NOT_INITIALIZED');

    p.C_DigestInit(s, { mechanism: CKM_SM3 });
    expect(rv(() => p.C_Digest(s, msg, Buffer.alloc(16)))).toBe('CKR_BUFFER_TOO_SMALL');
    expect(p.C_Digest(s, msg, Buffer.alloc(32))).toHaveLength(32);

    p.C_EncryptInit(s, { mechanism: CKM_SM2_ENC }, k.pub);
    expect(rv(() => p.C_Encrypt(s, msg, Buffer.alloc(10)))).toBe('CKR_BUFFER_TOO_SMALL');
    const ct = p.C_Encrypt(s, msg, Buffer.alloc(200));
    p.C_DecryptInit(s, { mechanism: CKM_SM2_ENC }, k.priv);
    expect(rv(() => p.C_Decrypt(s, ct, Buffer.alloc(4)))).toBe('CKR_BUFFER_TOO_SMALL');
    expect(p.C_Decrypt(s, ct, Buffer.alloc(200)).equals(msg)).toBe(true);

    const kek = generateSm4(p, s);
    const w = generateSm2(p, s, { extractable: true });
    expect(rv(() => p.C_WrapKey(s, { mechanism: CKM_SM4_ECB }, kek, w.priv, Buffer.alloc(16)))).toBe(
      'CKR_BUFFER_TOO_SMALL',
    );
  });

  it('validates templates', () => {
    const point = generateSm2(p, s).point;
    const pub = (extra: pkcs11js.Template) =>
      p.C_CreateObject(s, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM2 },
        { type: pkcs11js.CKA_TOKEN, value: false },
        ...extra,
      ]);
    expect(rv(() => pub([]))).toBe('CKR_TEMPLATE_INCOMPLETE');
    expect(rv(() => p.C_CreateObject(s, [{ type: pkcs11js.CKA_LABEL, value: 'x' }]))).toBe(
      'CKR_TEMPLATE_INCOMPLETE',
    );
    const bad = Buffer.from(point);
    bad[64] = (bad[64] ?? 0) ^ 1;
    expect(rv(() => pub([{ type: pkcs11js.CKA_EC_POINT, value: bad }]))).toBe('CKR_ATTRIBUTE_VALUE_INVALID');
    expect(
      rv(() =>
        pub([
          { type: pkcs11js.CKA_EC_POINT, value: point },
          { type: pkcs11js.CKA_MODULUS, value: point },
        ]),
      ),
    ).toBe('CKR_ATTRIBUTE_TYPE_INVALID');
    expect(rv(() => pub([{ type: pkcs11js.CKA_EC_POINT, value: point }]))).toBe('CKR_OK');
    expect(
      rv(() =>
        p.C_CreateObject(s, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM4 },
          { type: pkcs11js.CKA_VALUE, value: Buffer.alloc(15) },
        ]),
      ),
    ).toBe('CKR_ATTRIBUTE_VALUE_INVALID');
    expect(
      rv(() =>
        p.C_GenerateKeyPair(
          s,
          { mechanism: 0x80008001 },
          [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }],
          [{ type: pkcs11js.CKA_TOKEN, value: false }],
        ),
      ),
    ).toBe('CKR_TEMPLATE_INCONSISTENT');
    expect(
      rv(() => p.C_GenerateKey(s, { mechanism: 0x80000107 }, [{ type: pkcs11js.CKA_LOCAL, value: true }])),
    ).toBe('CKR_ATTRIBUTE_READ_ONLY');
  });

  it('sets, finds and destroys objects', () => {
    const k = generateSm2(p, s, { token: true, label: 'before', id: Buffer.from('aa', 'hex') });
    p.C_SetAttributeValue(s, k.priv, [
      { type: pkcs11js.CKA_LABEL, value: 'after' },
      { type: pkcs11js.CKA_ID, value: Buffer.from('bb', 'hex') },
    ]);
    expect(find(s, [{ type: pkcs11js.CKA_LABEL, value: 'after' }])).toHaveLength(1);
    expect(
      find(s, [
        { type: pkcs11js.CKA_ID, value: Buffer.from('bb', 'hex') },
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM2 },
      ]),
    ).toHaveLength(1);
    expect(
      rv(() => p.C_SetAttributeValue(s, k.priv, [{ type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM4 }])),
    ).toBe('CKR_ATTRIBUTE_READ_ONLY');
    p.C_DestroyObject(s, k.priv);
    expect(find(s, [{ type: pkcs11js.CKA_LABEL, value: 'after' }])).toHaveLength(0);
    expect(rv(() => p.C_GetAttributeValue(s, k.priv, [{ type: pkcs11js.CKA_LABEL }]))).toBe(
      'CKR_OBJECT_HANDLE_INVALID',
    );
  });
});

describe('persistence', () => {
  it('keeps token objects across C_Finalize, drops session objects, encrypts key material at rest', () => {
    const tok = generateSm2(p, s, { token: true, label: 'persist', extractable: true, sensitive: false });
    generateSm2(p, s, { token: false, label: 'ephemeral' });
    const scalar = attr(p, s, tok.priv, pkcs11js.CKA_VALUE);
    expect(scalar).toHaveLength(32);

    p.C_Finalize();
    expect(rv(() => p.C_GetSlotList(true))).toBe('CKR_CRYPTOKI_NOT_INITIALIZED');
    for (const file of allBytes(dir)) expect(file.includes(scalar)).toBe(false);

    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    slot = slotHandle(p);
    s = p.C_OpenSession(slot, RW);
    p.C_Login(s, pkcs11js.CKU_USER, USER_PIN);
    expect(find(s, [{ type: pkcs11js.CKA_LABEL, value: 'ephemeral' }])).toHaveLength(0);
    const found = find(s, [
      { type: pkcs11js.CKA_LABEL, value: 'persist' },
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    ]);
    expect(found).toHaveLength(1);
    const priv = found[0]!;
    const msg = Buffer.from('after restart');
    const pubs = find(s, [
      { type: pkcs11js.CKA_LABEL, value: 'persist' },
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    ]);
    expect(verify(p, s, pubs[0]!, msg, sign(p, s, priv, msg))).toBe(true);
    expect(attr(p, s, priv, pkcs11js.CKA_VALUE).equals(scalar)).toBe(true);
  });

  it('changes the user PIN without losing access to objects', () => {
    p.C_SetPIN(s, USER_PIN, '654321');
    p.C_Logout(s);
    expect(rv(() => p.C_Login(s, pkcs11js.CKU_USER, USER_PIN))).toBe('CKR_PIN_INCORRECT');
    p.C_Login(s, pkcs11js.CKU_USER, '654321');
    expect(find(s, [{ type: pkcs11js.CKA_LABEL, value: 'persist' }])).toHaveLength(2);
    p.C_SetPIN(s, '654321', USER_PIN);
  });

  it('erases objects when the token is re-initialised', () => {
    p.C_CloseAllSessions(slot);
    const fresh = initToken(p, slot, 'reinit');
    expect(find(fresh, [{ type: pkcs11js.CKA_LABEL, value: 'persist' }])).toHaveLength(0);
    expect(p.C_GetTokenInfo(slot).label.trim()).toBe('reinit');
    s = fresh;
  });
});
