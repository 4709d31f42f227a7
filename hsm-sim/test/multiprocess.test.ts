// Several processes share one token directory: concurrent signing and
// concurrent object creation must neither fail nor lose objects.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smCryptoVerifies } from '../../test/support/sm-crypto-signer.ts';
import {
  buildModule,
  generateSm2,
  HSM_DIR,
  initToken,
  MODULE,
  openModule,
  pkcs11js,
  slotHandle,
  tempTokenDir,
  USER_PIN,
} from './p11.ts';

const SIGNS = 40;
const CREATES = 12;

// Runs in a child node process; plain JS so no loader is needed.
const CHILD = `
import { createRequire } from 'node:module';
const require = createRequire(process.env.REPO_ROOT + '/package.json');
const pkcs11js = require('pkcs11js');
const tag = process.env.TAG, other = process.env.OTHER;
const p = new pkcs11js.PKCS11();
p.load(process.env.MODULE);
p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
const slot = p.C_GetSlotList(true)[0];
const s = p.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
p.C_Login(s, pkcs11js.CKU_USER, process.env.PIN);
const find = (t) => { p.C_FindObjectsInit(s, t); const r = p.C_FindObjects(s, 1000); p.C_FindObjectsFinal(s); return r; };
const [key] = find([{ type: pkcs11js.CKA_LABEL, value: 'shared' }, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }]);
const [pub] = find([{ type: pkcs11js.CKA_LABEL, value: 'shared' }, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }]);
const msg = Buffer.from('multi-process ' + tag);
let signed = 0, created = 0, sample = '';
const creates = Number(process.env.CREATES), signs = Number(process.env.SIGNS);
for (let i = 0; i < Math.max(signs, creates); i++) {
  if (i < signs) {
    p.C_SignInit(s, { mechanism: 0x80008100 }, key);
    const sig = p.C_Sign(s, msg, Buffer.alloc(80));
    p.C_VerifyInit(s, { mechanism: 0x80008100 }, pub);
    if (!p.C_Verify(s, msg, sig)) throw new Error('verify failed');
    sample = sig.toString('hex');
    signed++;
  }
  if (i < creates) {
    p.C_GenerateKey(s, { mechanism: 0x80000107 }, [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: tag + '-' + i },
    ]);
    created++;
  }
}
// every object this process made is visible to the other one: wait for its marker
p.C_CreateObject(s, [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA },
  { type: pkcs11js.CKA_TOKEN, value: true },
  { type: pkcs11js.CKA_PRIVATE, value: false },
  { type: pkcs11js.CKA_LABEL, value: 'done-' + tag },
]);
const deadline = Date.now() + 20000;
let seenOther = 0;
while (Date.now() < deadline) {
  if (find([{ type: pkcs11js.CKA_LABEL, value: 'done-' + other }]).length === 1) {
    for (let i = 0; i < creates; i++) seenOther += find([{ type: pkcs11js.CKA_LABEL, value: other + '-' + i }]).length;
    break;
  }
  await new Promise((r) => setTimeout(r, 20));
}
p.C_Finalize();
console.log(JSON.stringify({ signed, created, seenOther, sample, msg: msg.toString('hex') }));
`;

interface ChildResult {
  signed: number;
  created: number;
  seenOther: number;
  sample: string;
  msg: string;
}

let dir: string;
let point: Buffer;

function runChild(tag: string, other: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: {
        ...process.env,
        HSMSIM_DIR: dir,
        MODULE,
        REPO_ROOT: `${HSM_DIR}/..`,
        TAG: tag,
        OTHER: other,
        PIN: USER_PIN,
        SIGNS: String(SIGNS),
        CREATES: String(CREATES),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`child ${tag} exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim()) as ChildResult);
    });
  });
}

beforeAll(() => {
  buildModule();
  dir = tempTokenDir();
  const p = openModule(dir);
  try {
    const s = initToken(p, slotHandle(p));
    point = generateSm2(p, s, { token: true, label: 'shared' }).point;
  } finally {
    p.C_Finalize();
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('two processes on one token directory', () => {
  it('sign and create objects concurrently without failures or lost objects', async () => {
    const [a, b] = await Promise.all([runChild('A', 'B'), runChild('B', 'A')]);
    for (const r of [a, b]) {
      expect(r.signed).toBe(SIGNS);
      expect(r.created).toBe(CREATES);
      expect(r.seenOther).toBe(CREATES);
      expect(
        smCryptoVerifies(Buffer.from(r.msg, 'hex'), Buffer.from(r.sample, 'hex'), point.toString('hex')),
      ).toBe(true);
    }

    const p = openModule(dir);
    try {
      const s = p.C_OpenSession(slotHandle(p), pkcs11js.CKF_SERIAL_SESSION);
      p.C_Login(s, pkcs11js.CKU_USER, USER_PIN);
      p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }]);
      const secrets = p.C_FindObjects(s, 1000);
      p.C_FindObjectsFinal(s);
      const labels = new Set(
        secrets.map((h) => String(p.C_GetAttributeValue(s, h, [{ type: pkcs11js.CKA_LABEL }])[0]?.value)),
      );
      for (const tag of ['A', 'B'])
        for (let i = 0; i < CREATES; i++) expect(labels.has(`${tag}-${i}`)).toBe(true);
      expect(secrets).toHaveLength(2 * CREATES);
    } finally {
      p.C_Finalize();
    }
  });
});
