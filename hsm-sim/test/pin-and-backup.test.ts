// PIN protection (scrypt, the retry limit, migration of PBKDF2 tokens) and the
// trusted-wrap path a CA key backup takes from one token to another.
import { createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attr,
  buildModule,
  CKK_SM2,
  CKK_SM4,
  CKM_SM4_ECB,
  ecPoint,
  generateSm2,
  type Handle,
  importSm2Public,
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

const CKF_USER_PIN_COUNT_LOW = 0x10000;
const CKF_USER_PIN_FINAL_TRY = 0x20000;
const CKF_USER_PIN_LOCKED = 0x40000;
const CKF_SO_PIN_COUNT_LOW = 0x100000;
const pinFlags = CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED | CKF_SO_PIN_COUNT_LOW;
const PIN_TRIES = 10;

let p: PKCS11;
let dir: string;

function meta(slotIndex: number): string {
  return readFileSync(join(dir, `slot-${slotIndex}`, 'token.meta'), 'utf8');
}

function flags(slot: Handle): number {
  return p.C_GetTokenInfo(slot).flags & pinFlags;
}

function freshToken(index: number, label: string): { slot: Handle; session: Handle } {
  const slot = slotHandle(p, index);
  const session = initToken(p, slot, label);
  return { slot, session };
}

beforeAll(() => {
  buildModule();
  dir = tempTokenDir();
  process.env.HSMSIM_SLOTS = '6';
  // The cost asserted below is the default one.
  delete process.env.HSMSIM_SCRYPT_LOG2N;
  p = openModule(dir);
});

afterAll(() => {
  p.C_Finalize();
  rmSync(dir, { recursive: true, force: true });
});

describe('PIN storage', () => {
  it('derives both PIN keys with scrypt and stores its parameters with the token', () => {
    const { slot, session } = freshToken(0, 'kdf');
    expect(meta(0)).toMatch(/^so_kdf=scrypt:32768:8:1$/m);
    expect(meta(0)).toMatch(/^user_kdf=scrypt:32768:8:1$/m);
    p.C_Logout(session);
    expect(rv(() => p.C_Login(session, pkcs11js.CKU_USER, 'wrong-pin'))).toBe('CKR_PIN_INCORRECT');
    p.C_Login(session, pkcs11js.CKU_USER, USER_PIN);
    p.C_CloseAllSessions(slot);
  });

  it('opens a token written before scrypt (PBKDF2) and rewraps its PIN under scrypt at login', () => {
    const tokenId = randomBytes(16);
    const tokenKey = randomBytes(32);
    const wrapped = (who: 'so-k' | 'us-k', pin: string, salt: Buffer) => {
      const key = pbkdf2Sync(pin, salt, 20000, 32, 'sha256');
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(Buffer.concat([Buffer.from(who), tokenId]));
      const body = Buffer.concat([cipher.update(tokenKey), cipher.final()]);
      return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('hex');
    };
    const soSalt = randomBytes(16);
    const userSalt = randomBytes(16);
    const slotDir = join(dir, 'slot-1');
    mkdirSync(join(slotDir, 'objects'), { recursive: true });
    writeFileSync(
      join(slotDir, 'token.meta'),
      [
        'version=1',
        `token_id=${tokenId.toString('hex')}`,
        `label=${Buffer.from('legacy').toString('hex')}`,
        'iter=20000',
        `so_salt=${soSalt.toString('hex')}`,
        `so_key=${wrapped('so-k', SO_PIN, soSalt)}`,
        `user_salt=${userSalt.toString('hex')}`,
        `user_key=${wrapped('us-k', USER_PIN, userSalt)}`,
        '',
      ].join('\n'),
    );
    const slot = slotHandle(p, 1);
    expect(p.C_GetTokenInfo(slot).label.trim()).toBe('legacy');
    const session = p.C_OpenSession(slot, RW);
    expect(rv(() => p.C_Login(session, pkcs11js.CKU_USER, 'wrong-pin'))).toBe('CKR_PIN_INCORRECT');
    expect(meta(1)).not.toMatch(/^user_kdf=scrypt/m);
    p.C_Login(session, pkcs11js.CKU_USER, USER_PIN);
    expect(meta(1)).toMatch(/^user_kdf=scrypt:32768:8:1$/m);
    // The SO PIN stays on PBKDF2 until the SO logs in.
    expect(meta(1)).not.toMatch(/^so_kdf=scrypt/m);
    p.C_Logout(session);
    p.C_Login(session, pkcs11js.CKU_USER, USER_PIN);
    p.C_Logout(session);
    p.C_Login(session, pkcs11js.CKU_SO, SO_PIN);
    expect(meta(1)).toMatch(/^so_kdf=scrypt:32768:8:1$/m);
    p.C_CloseAllSessions(slot);
  });
});

describe('PIN retry limit', () => {
  it('warns, then locks the user PIN after ten failures in a row; the SO unlocks it', () => {
    const { slot, session } = freshToken(2, 'retry');
    p.C_Logout(session);
    expect(flags(slot)).toBe(0);
    for (let i = 1; i < PIN_TRIES; i++) {
      expect(rv(() => p.C_Login(session, pkcs11js.CKU_USER, `bad-${i}`))).toBe('CKR_PIN_INCORRECT');
      expect(flags(slot) & CKF_USER_PIN_COUNT_LOW).toBe(CKF_USER_PIN_COUNT_LOW);
    }
    expect(flags(slot) & CKF_USER_PIN_FINAL_TRY).toBe(CKF_USER_PIN_FINAL_TRY);
    expect(rv(() => p.C_Login(session, pkcs11js.CKU_USER, 'bad-final'))).toBe('CKR_PIN_INCORRECT');
    expect(flags(slot)).toBe(CKF_USER_PIN_LOCKED);
    expect(rv(() => p.C_Login(session, pkcs11js.CKU_USER, USER_PIN))).toBe('CKR_PIN_LOCKED');
    expect(meta(2)).toMatch(/^user_fails=10$/m);

    // The count is on disk: a restarted module still refuses.
    p.C_Finalize();
    p = openModule(dir);
    const again = p.C_OpenSession(slotHandle(p, 2), RW);
    expect(rv(() => p.C_Login(again, pkcs11js.CKU_USER, USER_PIN))).toBe('CKR_PIN_LOCKED');

    p.C_Login(again, pkcs11js.CKU_SO, SO_PIN);
    p.C_InitPIN(again, USER_PIN);
    p.C_Logout(again);
    expect(flags(slotHandle(p, 2))).toBe(0);
    p.C_Login(again, pkcs11js.CKU_USER, USER_PIN);
    p.C_CloseAllSessions(slotHandle(p, 2));
  });

  it('clears the count after a good PIN and counts SO failures on their own', () => {
    const { slot, session } = freshToken(3, 'reset');
    p.C_Logout(session);
    for (let i = 0; i < 3; i++) rv(() => p.C_Login(session, pkcs11js.CKU_USER, 'nope-nope'));
    expect(flags(slot)).toBe(CKF_USER_PIN_COUNT_LOW);
    p.C_Login(session, pkcs11js.CKU_USER, USER_PIN);
    expect(flags(slot)).toBe(0);
    p.C_Logout(session);
    expect(rv(() => p.C_Login(session, pkcs11js.CKU_SO, 'nope-nope'))).toBe('CKR_PIN_INCORRECT');
    expect(flags(slot)).toBe(CKF_SO_PIN_COUNT_LOW);
    // A wrong old PIN in C_SetPIN is a guess like any other.
    p.C_Login(session, pkcs11js.CKU_USER, USER_PIN);
    expect(rv(() => p.C_SetPIN(session, 'not-it', '654321'))).toBe('CKR_PIN_INCORRECT');
    expect(flags(slot)).toBe(CKF_USER_PIN_COUNT_LOW | CKF_SO_PIN_COUNT_LOW);
    p.C_CloseAllSessions(slot);
  });
});

describe('a key that leaves only under a trusted key', () => {
  const sm4Template = (extra: pkcs11js.Template = []): pkcs11js.Template => [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM4 },
    { type: pkcs11js.CKA_TOKEN, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: false },
    { type: pkcs11js.CKA_DECRYPT, value: false },
    ...extra,
  ];

  it('wraps under an SO-made trusted SM4 key only, and unwraps on another token as non-extractable', () => {
    const { slot, session } = freshToken(4, 'origin');
    const ca = generateSm2(p, session, { token: true, label: 'ca', extractable: true });
    p.C_SetAttributeValue(session, ca.priv, [{ type: pkcs11js.CKA_WRAP_WITH_TRUSTED, value: true }]);
    const value = randomBytes(16);
    // Only the SO makes a trusted key; the user cannot.
    expect(
      rv(() =>
        p.C_CreateObject(
          session,
          sm4Template([
            { type: pkcs11js.CKA_VALUE, value },
            { type: pkcs11js.CKA_TRUSTED, value: true },
          ]),
        ),
      ),
    ).toBe('CKR_ATTRIBUTE_READ_ONLY');
    const untrusted = p.C_CreateObject(session, sm4Template([{ type: pkcs11js.CKA_VALUE, value }]));
    expect(
      rv(() => p.C_WrapKey(session, { mechanism: CKM_SM4_ECB }, untrusted, ca.priv, Buffer.alloc(64))),
    ).toBe('CKR_KEY_NOT_WRAPPABLE');

    p.C_Logout(session);
    p.C_Login(session, pkcs11js.CKU_SO, SO_PIN);
    const trusted = p.C_CreateObject(
      session,
      sm4Template([
        { type: pkcs11js.CKA_PRIVATE, value: false },
        { type: pkcs11js.CKA_VALUE, value },
        { type: pkcs11js.CKA_TRUSTED, value: true },
      ]),
    );
    p.C_Logout(session);
    p.C_Login(session, pkcs11js.CKU_USER, USER_PIN);
    const wrapped = p.C_WrapKey(session, { mechanism: CKM_SM4_ECB }, trusted, ca.priv, Buffer.alloc(64));
    expect(wrapped.length).toBe(32);
    p.C_CloseAllSessions(slot);

    const other = freshToken(5, 'restored').session;
    const unwrapping = p.C_CreateObject(other, sm4Template([{ type: pkcs11js.CKA_VALUE, value }]));
    const restored = p.C_UnwrapKey(other, { mechanism: CKM_SM4_ECB }, unwrapping, wrapped, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM2 },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: 'ca' },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_DECRYPT, value: false },
      { type: pkcs11js.CKA_UNWRAP, value: false },
    ]);
    expect(ecPoint(p, other, restored)).toEqual(ca.point);
    expect(attr(p, other, restored, pkcs11js.CKA_EXTRACTABLE)).toEqual(Buffer.from([0]));
    expect(
      rv(() => p.C_WrapKey(other, { mechanism: CKM_SM4_ECB }, unwrapping, restored, Buffer.alloc(64))),
    ).toBe('CKR_KEY_UNEXTRACTABLE');
    const message = Buffer.from('signed on the restored token');
    const signature = sign(p, other, restored, message);
    expect(verify(p, other, importSm2Public(p, other, ca.point), message, signature)).toBe(true);
    p.C_CloseAllSessions(slotHandle(p, 5));
  });
});
