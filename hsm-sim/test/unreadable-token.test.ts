// A token whose token.meta cannot be read is reported, never taken for a blank one.
import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildModule,
  generateSm2,
  initToken,
  openModule,
  type PKCS11,
  pkcs11js,
  RW,
  rv,
  SO_PIN,
  slotHandle,
  tempTokenDir,
  USER_PIN,
} from './p11.ts';

const CKF_TOKEN_PRESENT = 0x1;

let p: PKCS11;
let dir: string;
let meta: string;
let original: Buffer;

const metaNow = () => (existsSync(meta) ? readFileSync(meta).toString('hex') : 'absent');
const objects = () => readdirSync(join(dir, 'slot-0', 'objects')).sort();

const damage: Record<string, () => void> = {
  garbage: () => writeFileSync(meta, Buffer.from('\x00\xffnot=a token\n\x13'.repeat(40), 'binary')),
  truncated: () => writeFileSync(meta, ''),
  'cut in half': () => writeFileSync(meta, original.subarray(0, original.length >> 1)),
  'removed while objects remain': () => unlinkSync(meta),
};

beforeAll(() => {
  buildModule();
  dir = tempTokenDir();
  p = openModule(dir);
  const s = initToken(p, slotHandle(p, 0), 'kept');
  generateSm2(p, s, { token: true, label: 'precious' });
  initToken(p, slotHandle(p, 1), 'neighbour');
  p.C_Finalize();
  meta = join(dir, 'slot-0', 'token.meta');
  original = readFileSync(meta);
});

afterAll(() => {
  try {
    p.C_Finalize();
  } catch {
    // already finalised by a test
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('a token whose token.meta cannot be read', () => {
  for (const [kind, spoil] of Object.entries(damage)) {
    it(`(${kind}) is present but not recognised, refuses C_InitToken and keeps every file`, () => {
      const before = objects();
      expect(before).toHaveLength(2);
      spoil();
      const spoilt = metaNow();
      p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
      try {
        const slot = slotHandle(p, 0);
        expect(p.C_GetSlotInfo(slot).flags & CKF_TOKEN_PRESENT).toBeTruthy();
        expect(rv(() => p.C_GetTokenInfo(slot))).toBe('CKR_TOKEN_NOT_RECOGNIZED');
        expect(rv(() => p.C_OpenSession(slot, RW))).toBe('CKR_TOKEN_NOT_RECOGNIZED');
        expect(rv(() => p.C_InitToken(slot, SO_PIN, 'fresh'))).toBe('CKR_TOKEN_NOT_RECOGNIZED');
        expect(rv(() => p.C_InitToken(slot, 'any-other-pin', 'fresh'))).toBe('CKR_TOKEN_NOT_RECOGNIZED');
        expect(objects()).toEqual(before);
        expect(metaNow()).toBe(spoilt);
        expect(p.C_GetTokenInfo(slotHandle(p, 1)).label.trim()).toBe('neighbour');

        // restored, it is the same token again, without a restart
        writeFileSync(meta, original);
        expect(p.C_GetTokenInfo(slot).label.trim()).toBe('kept');
        const s = p.C_OpenSession(slot, RW);
        p.C_Login(s, pkcs11js.CKU_USER, USER_PIN);
        p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_LABEL, value: 'precious' }]);
        expect(p.C_FindObjects(s, 10)).toHaveLength(2);
        p.C_FindObjectsFinal(s);
      } finally {
        p.C_Finalize();
      }
    });
  }

  it('leaves a never-initialised slot blank and initialisable', () => {
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    try {
      const slot = slotHandle(p, 2);
      expect(p.C_GetTokenInfo(slot).flags & pkcs11js.CKF_TOKEN_INITIALIZED).toBe(0);
      p.C_InitToken(slot, SO_PIN, 'new');
      expect(p.C_GetTokenInfo(slot).label.trim()).toBe('new');
    } finally {
      p.C_Finalize();
    }
  });
});
