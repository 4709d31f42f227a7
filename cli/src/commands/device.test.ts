import { createPublicKey, verify } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Device, type DeviceConfig, openDevice } from '@sm2ca/device';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hsmSim, softhsm, tokenConfig } from '../../../packages/device/src/test-tokens.ts';
import { runCommand } from '../../../test/support/cli-command.ts';
import { opensslVerifiesSm2Signature, tempDir } from '../../../test/support/openssl-cli.ts';
import { useTestDatabase } from '../../../test/support/test-database.ts';
import { sm2KeyId } from '../service-keys.ts';
import { registerDeviceCommands } from './device.ts';

const db = useTestDatabase();

const run = (config: DeviceConfig, ...args: string[]) =>
  runCommand(
    (program) =>
      registerDeviceCommands(program, {
        device: async () => config,
        database: async () => ({ pool: db.pool, url: db.url, close: async () => {} }),
      }),
    args,
  );

const audit = async (label: string) =>
  (
    await db.pool.query<{ action: string; actor: string; after: Record<string, unknown> }>(
      `SELECT action, actor, after FROM audit_log WHERE subject_type = 'device_key' AND subject_id = $1 ORDER BY id`,
      [label],
    )
  ).rows;

describe.skipIf(!softhsm.available)('sm2ca device', () => {
  const config = tokenConfig(softhsm, 'cli', '12345678');
  beforeAll(async () => {
    await softhsm.createTokens(['cli'], '87654321', '12345678');
  });

  it('info names the module, the token and its mechanisms', async () => {
    const out = await run(config, 'device', 'info');
    expect(out).toContain(softhsm.module);
    expect(out).toContain('token:        cli');
    expect(out).toContain('softhsm:keyPairGen');
  });

  it('keygen prints a PEM public key that verifies what sign writes', async () => {
    const publicPem = await run(config, 'device', 'keygen', '--label', 'cli-key');
    expect(publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const dir = tempDir();
    writeFileSync(join(dir, 'msg'), 'signed from the CLI');
    await run(
      config,
      'device',
      'sign',
      '--label',
      'cli-key',
      '--in',
      join(dir, 'msg'),
      '--out',
      join(dir, 'sig'),
    );
    const key = createPublicKey(publicPem);
    expect(verify('sha256', readFileSync(join(dir, 'msg')), key, readFileSync(join(dir, 'sig')))).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe.skipIf(!hsmSim.available)('sm2ca device on hsm-sim', () => {
  const config = tokenConfig(hsmSim, 'cli', '12345678');
  let device: Device;
  let dir: string;
  beforeAll(async () => {
    await hsmSim.createTokens(['cli'], '87654321', '12345678');
    device = await openDevice(config);
    dir = tempDir();
    writeFileSync(join(dir, 'msg'), 'a revoke instruction, hand-written');
  });
  afterAll(async () => {
    await device?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const sign = (label: string) =>
    run(config, 'device', 'sign', '--label', label, '--in', join(dir, 'msg'), '--out', join(dir, 'sig'));

  it('signs SM2-with-SM3 under the default ID, as OpenSSL verifies, and audits keygen and sign', async () => {
    writeFileSync(join(dir, 'pub.pem'), await run(config, 'device', 'keygen', '--label', 'holder-key'));
    writeFileSync(join(dir, 'tbs'), 'tbsCertificate stand-in');
    await run(
      config,
      'device',
      'sign',
      '--label',
      'holder-key',
      '--in',
      join(dir, 'tbs'),
      '--out',
      join(dir, 'tbs.sig'),
    );
    expect(opensslVerifiesSm2Signature(dir, 'pub.pem', 'tbs.sig', 'tbs')).toBe(true);
    expect(await run(config, 'device', 'info')).toContain('hsm-sim:sign');
    expect(await audit('holder-key')).toEqual([
      expect.objectContaining({ action: 'device.keygen', actor: expect.stringMatching(/^cli:/) }),
      expect.objectContaining({ action: 'device.sign', after: expect.objectContaining({ bytes: 23 }) }),
    ]);
  });

  it('refuses every label of the service-key families, for keygen and sign, and audits the refusals', async () => {
    for (const label of ['root-ca', 'sub-ca', 'ra', 'ocsp-sub-1', 'km-master', 'audit']) {
      await device.generateKeyPair({ label });
      await expect(sign(label), label).rejects.toMatchObject({ code: 'DEVICE_KEY_RESERVED' });
      expect(await audit(label)).toEqual([expect.objectContaining({ action: 'device.sign.refused' })]);
    }
    for (const label of ['ocsp-sub-2', 'OCSP-root-7', 'Root-CA', 'ra-2', 'audit-1', 'km']) {
      await expect(run(config, 'device', 'keygen', '--label', label), label).rejects.toMatchObject({
        code: 'DEVICE_KEY_RESERVED',
      });
      expect(await audit(label)).toEqual([expect.objectContaining({ action: 'device.keygen.refused' })]);
    }
  });

  it('refuses a key the ceremony recorded, under any label, by its label or by the key itself', async () => {
    await device.generateKeyPair({ label: 'renamed-signer' });
    const copied = sm2KeyId(await device.generateKeyPair({ label: 'innocent-looking' }))!;
    await db.pool.query(
      `INSERT INTO issuers (id, kind, parent_id, key_label, subject, certificate, subject_key_id, not_after) VALUES
         ('renamed', 'ra', NULL, 'renamed-signer', 'CN=Renamed', '\\x00', '\\x01', now() + interval '1 day'),
         ('copied', 'ocsp', NULL, 'copied-signer', 'CN=Copied', '\\x00', $1, now() + interval '1 day')`,
      [Buffer.from(copied)],
    );
    await expect(sign('renamed-signer')).rejects.toThrow(/ra key of issuer renamed/);
    await expect(sign('innocent-looking')).rejects.toThrow(/ocsp key of issuer copied/);
    await expect(run(config, 'device', 'keygen', '--label', 'copied-signer')).rejects.toMatchObject({
      code: 'DEVICE_KEY_RESERVED',
    });
  });
});
