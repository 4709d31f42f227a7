import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKeyCeremony } from '@sm2ca/ca';
import { type Device, openDevice } from '@sm2ca/device';
import { derToPem, parseCertificate } from '@sm2ca/pki';
import { type Config, loadConfig } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hsmSim, tokenConfig } from '../../../packages/device/src/test-tokens.ts';
import { runCommand } from '../../../test/support/cli-command.ts';
import { opensslVerifiesSm2Signature } from '../../../test/support/openssl-cli.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts';
import { passphraseVariable } from '../key-backup/custodian-passphrase.ts';
import { registerKeyCommands } from './key.ts';

const pin = randomBytes(8).toString('hex');
const soPin = `${pin}so`;
const custodians = ['alice', 'bob', 'carol', 'dave', 'erin'];
const passphrase = (name: string) => `${name} keeps a long passphrase`;

let tokenDir: string;
let work: string;
let device: Device;
let config: Config;
let db: TestDatabase & { drop(): Promise<void> };

const run = (...args: string[]) =>
  runCommand(
    (program) =>
      registerKeyCommands(program, {
        device: async (tokenLabel) => tokenConfig(hsmSim, tokenLabel ?? 'kb-origin', pin),
        soPin: async () => soPin,
        database: async () => ({ pool: db.pool, url: db.url, close: async () => {} }),
      }),
    args,
  );

async function failure(...args: string[]): Promise<{ code?: string; message: string }> {
  try {
    await run(...args);
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  }
  throw new Error(`sm2ca ${args.join(' ')} succeeded`);
}

const audit = async (action: string) =>
  (
    await db.pool.query<{ after: Record<string, unknown> }>(
      'SELECT after FROM audit_log WHERE action = $1 ORDER BY id',
      [action],
    )
  ).rows.map((r) => r.after);

const shareFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.startsWith('share-'))
    .sort()
    .map((name) => join(dir, name));

describe.skipIf(!hsmSim.available)('sm2ca key backup / restore', () => {
  let backupDir: string;

  beforeAll(async () => {
    ({ HSMSIM_DIR: tokenDir } = (await hsmSim.createTokens(
      ['kb-origin', 'kb-fresh', 'kb-spare'],
      soPin,
      pin,
    )) as { HSMSIM_DIR: string });
    device = await openDevice(tokenConfig(hsmSim, 'kb-origin', pin));
    config = loadConfig({ SM2CA_HOME: mkdtempSync(join(tmpdir(), 'key-backup-home-')) });
    db = await createTestDatabase();
    await runKeyCeremony(db.pool, device, config);
    work = mkdtempSync(join(tmpdir(), 'key-backup-'));
    backupDir = join(work, 'backup');
    for (const name of custodians) process.env[passphraseVariable(name)] = passphrase(name);
  }, 120_000);

  afterAll(async () => {
    for (const name of custodians) delete process.env[passphraseVariable(name)];
    await device?.close();
    await db?.drop();
    for (const dir of [tokenDir, work, config?.home]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('backs up the issuing CA key 3-of-5 without signing, each share only under its custodian passphrase', async () => {
    const signaturesBefore = await db.pool.query(
      'SELECT count(*)::int AS n FROM audit_log WHERE action LIKE $1',
      ['%sign%'],
    );
    const args = ['key', 'backup', '--issuer', 'sub', '--threshold', '3', '--out', backupDir];
    const out = await run(
      ...args,
      ...custodians.flatMap((c) => ['--custodian', c]),
      '--passphrase-source',
      'env',
    );
    expect(out).toMatch(/3 of 5 shares restore it/);
    const document = JSON.parse(readFileSync(join(backupDir, 'backup.json'), 'utf8'));
    expect(document).toMatchObject({ issuerId: 'sub', keyLabel: 'sub-ca', threshold: 3, custodians });
    expect(shareFiles(backupDir)).toHaveLength(5);
    for (const file of shareFiles(backupDir)) {
      expect(statSync(file).mode & 0o077).toBe(0);
      // Neither a passphrase nor anything but ciphertext of the share is in the file.
      expect(readFileSync(file, 'utf8')).not.toMatch(/passphrase/);
    }
    const { rows } = await db.pool.query(
      'SELECT issuer_id, key_label, threshold, custodians FROM key_backups WHERE id = $1',
      [document.id],
    );
    expect(rows).toEqual([{ issuer_id: 'sub', key_label: 'sub-ca', threshold: 3, custodians }]);
    expect(await audit('key.backup')).toEqual([
      expect.objectContaining({ backupId: document.id, threshold: 3 }),
    ]);
    const signaturesAfter = await db.pool.query(
      'SELECT count(*)::int AS n FROM audit_log WHERE action LIKE $1',
      ['%sign%'],
    );
    expect(signaturesAfter.rows).toEqual(signaturesBefore.rows);
  });

  it('refuses a key that is not a CA key and a threshold above the custodians, on record', async () => {
    const refused = await failure(
      'key',
      'backup',
      '--issuer',
      'ra',
      '--threshold',
      '2',
      '--custodian',
      'alice',
      '--custodian',
      'bob',
      '--out',
      join(work, 'ra'),
      '--passphrase-source',
      'env',
    );
    expect(refused.code).toBe('KEY_BACKUP_NOT_CA_KEY');
    const twoOfOne = await failure(
      'key',
      'backup',
      '--issuer',
      'sub',
      '--threshold',
      '2',
      '--custodian',
      'alice',
      '--out',
      join(work, 'two-of-one'),
      '--passphrase-source',
      'env',
    );
    expect(twoOfOne.code).toBe('KEY_BACKUP_BAD_INPUT');
    expect((await audit('key.backup.refused')).map((a) => a.code)).toEqual([
      'KEY_BACKUP_NOT_CA_KEY',
      'KEY_BACKUP_BAD_INPUT',
    ]);
  });

  it('refuses two shares with a clear error, and a wrong passphrase by custodian', async () => {
    const [first, second, third] = shareFiles(backupDir);
    const restore = [
      'key',
      'restore',
      '--backup',
      backupDir,
      '--token',
      'kb-spare',
      '--passphrase-source',
      'env',
    ];
    const tooFew = await failure(...restore, '--share', first!, '--share', second!);
    expect(tooFew.code).toBe('KEY_BACKUP_TOO_FEW_SHARES');
    expect(tooFew.message).toMatch(/2 shares given; backup .* needs 3 of its 5 custodians' shares/);

    process.env[passphraseVariable('bob')] = 'not what bob chose at all';
    try {
      const wrong = await failure(...restore, '--share', first!, '--share', second!, '--share', third!);
      expect(wrong.code).toBe('KEY_SHARE_PASSPHRASE');
      expect(wrong.message).toMatch(/custodian "bob"/);
    } finally {
      process.env[passphraseVariable('bob')] = passphrase('bob');
    }
    const repeated = await failure(...restore, '--share', first!, '--share', first!, '--share', second!);
    expect(repeated.code).toBe('KEY_SHARE_REPEATED');
    expect((await audit('key.restore.refused')).map((a) => a.code)).toEqual([
      'KEY_BACKUP_TOO_FEW_SHARES',
      'KEY_SHARE_PASSPHRASE',
      'KEY_SHARE_REPEATED',
    ]);
    const spare = await openDevice(tokenConfig(hsmSim, 'kb-spare', pin));
    try {
      expect(await spare.hasKey('sub-ca')).toBe(false);
    } finally {
      await spare.close();
    }
  });

  it('restores with any three shares into a fresh token, which signs under the original certificate', async () => {
    const files = shareFiles(backupDir);
    const passphraseDir = join(work, 'passphrases');
    mkdirSync(passphraseDir);
    for (const name of ['erin', 'bob', 'carol'])
      writeFileSync(join(passphraseDir, name), `${passphrase(name)}\n`);
    const out = await run(
      'key',
      'restore',
      '--backup',
      join(backupDir, 'backup.json'),
      '--token',
      'kb-fresh',
      '--share',
      files[4]!,
      '--share',
      files[1]!,
      '--share',
      files[2]!,
      '--passphrase-source',
      'file',
      '--passphrase-dir',
      passphraseDir,
    );
    expect(out).toMatch(/restored the key of issuer sub .* as "sub-ca" on token kb-fresh/);

    const { rows } = await db.pool.query<{ certificate: Buffer }>(
      "SELECT certificate FROM issuers WHERE id = 'sub'",
    );
    const certificateKey = parseCertificate(rows[0]!.certificate).spki;
    const fresh = await openDevice(tokenConfig(hsmSim, 'kb-fresh', pin));
    try {
      expect(await fresh.publicKey('sub-ca')).toEqual(certificateKey);
      expect((await fresh.inspectKeyPair('sub-ca')).privateKey).toMatchObject({
        extractable: false,
        sign: true,
      });
      const message = Buffer.from('signed by the restored issuing CA key');
      const signature = await fresh.sign('sub-ca', message);
      writeFileSync(join(work, 'message'), message);
      writeFileSync(join(work, 'signature'), signature);
      writeFileSync(join(work, 'ca.pem'), derToPem(certificateKey, 'PUBLIC KEY'));
      expect(opensslVerifiesSm2Signature(work, 'ca.pem', 'signature', 'message')).toBe(true);
    } finally {
      await fresh.close();
    }
    const restores = await db.pool.query('SELECT token_label, key_label, custodians FROM key_restores');
    expect(restores.rows).toEqual([
      { token_label: 'kb-fresh', key_label: 'sub-ca', custodians: ['erin', 'bob', 'carol'] },
    ]);
    expect(await audit('key.restore')).toEqual([
      expect.objectContaining({ issuerId: 'sub', keyLabel: 'sub-ca', tokenLabel: 'kb-fresh' }),
    ]);
  });
});
