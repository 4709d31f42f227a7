// OpenSC's pkcs11-tool drives the module as a generic PKCS#11 client.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslVerifiesSm2Signature } from '../../test/support/openssl-cli.ts';
import { smCryptoVerifies } from '../../test/support/sm-crypto-signer.ts';
import {
  buildModule,
  CKK_SM2,
  generateSm2,
  MODULE,
  openModule,
  pkcs11js,
  RW,
  SO_PIN,
  slotHandle,
  spkiPem,
  tempTokenDir,
  USER_PIN,
  verify,
} from './p11.ts';

const TOOL = '/usr/bin/pkcs11-tool';
let dir: string;
let work: string;

function tool(...args: string[]): string {
  return execFileSync(TOOL, ['--module', MODULE, ...args], {
    env: { ...process.env, HSMSIM_DIR: dir },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

beforeAll(() => {
  buildModule();
  dir = tempTokenDir();
  work = mkdtempSync(join(tmpdir(), 'hsmsim-tool-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!existsSync(TOOL))('pkcs11-tool', () => {
  it('lists the SM mechanisms with their flags', () => {
    const out = tool('-M');
    for (const m of [
      '0x80008001',
      '0x80008100',
      '0x80008104',
      '0x80008200',
      '0x80009001',
      '0x80000107',
      '0x80000108',
      '0x80000109',
    ])
      expect(out).toContain(`mechtype-${m}`);
    expect(out).toMatch(/mechtype-0x80008100, keySize=\{256,256\}, hw, sign, verify/);
    expect(out).toMatch(/mechtype-0x80008001, .*generate_key_pair/);
  });

  it('initialises the token and the user PIN', () => {
    expect(tool('--init-token', '--label', 'tooltok', '--so-pin', SO_PIN)).toContain(
      'successfully initialized',
    );
    expect(tool('--init-pin', '--so-pin', SO_PIN, '--pin', USER_PIN)).toContain('successfully initialized');
    const info = tool('-T');
    expect(info).toContain('tooltok');
    expect(info).toContain('PIN initialized');
  });

  it('takes its configuration from HSMSIM_CONF, with the environment winning', () => {
    const confDir = join(work, 'conf-tokens');
    const conf = join(work, 'hsm-sim.conf');
    writeFileSync(conf, `# test config\ndir=${confDir}\nslots=2\n`);
    const env = { ...process.env, HSMSIM_CONF: conf, HSMSIM_DIR: '', HSMSIM_SLOTS: '' };
    const run = (extra: Record<string, string>) =>
      execFileSync(TOOL, ['--module', MODULE, '-L'], { env: { ...env, ...extra }, encoding: 'utf8' });
    expect(run({}).match(/^Slot \d/gm)).toHaveLength(2);
    expect(run({ HSMSIM_SLOTS: '3' }).match(/^Slot \d/gm)).toHaveLength(3);
    execFileSync(TOOL, ['--module', MODULE, '--init-token', '--label', 'conf', '--so-pin', SO_PIN], {
      env,
      stdio: 'ignore',
    });
    expect(existsSync(join(confDir, 'slot-0', 'token.meta'))).toBe(true);
  });

  it('lists and signs with a key generated through Node', () => {
    const p = openModule(dir);
    let point: Buffer;
    try {
      const s = p.C_OpenSession(slotHandle(p), RW);
      p.C_Login(s, pkcs11js.CKU_USER, USER_PIN);
      point = generateSm2(p, s, { token: true, label: 'cli-key', id: Buffer.from('c1', 'hex') }).point;
    } finally {
      p.C_Finalize();
    }
    const list = tool('--login', '--pin', USER_PIN, '--list-objects');
    expect(list).toContain('cli-key');
    expect(list).toMatch(/Private Key Object/);

    const msg = Buffer.from('signed by pkcs11-tool');
    writeFileSync(join(work, 'msg'), msg);
    tool(
      '--login',
      '--pin',
      USER_PIN,
      '--sign',
      '--mechanism',
      '0x80008100',
      '--id',
      'c1',
      '-i',
      join(work, 'msg'),
      '-o',
      join(work, 'sig.der'),
    );
    const sig = readFileSync(join(work, 'sig.der'));
    expect(sig[0]).toBe(0x30);
    expect(smCryptoVerifies(msg, sig, point.toString('hex'))).toBe(true);
    writeFileSync(join(work, 'pub.pem'), spkiPem(point));
    expect(opensslVerifiesSm2Signature(work, 'pub.pem', 'sig.der', 'msg')).toBe(true);

    // and the module agrees, using the public key object pkcs11-tool saw
    const q = openModule(dir);
    try {
      const s = q.C_OpenSession(slotHandle(q), RW);
      q.C_FindObjectsInit(s, [
        { type: pkcs11js.CKA_ID, value: Buffer.from('c1', 'hex') },
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM2 },
      ]);
      const [pub] = q.C_FindObjects(s, 2);
      q.C_FindObjectsFinal(s);
      expect(pub).toBeDefined();
      expect(verify(q, s, pub!, msg, sig)).toBe(true);
    } finally {
      q.C_Finalize();
    }
  });
});
