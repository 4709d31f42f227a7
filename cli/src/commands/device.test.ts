import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceConfig } from '@sm2ca/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { hsmSim, softhsm, tokenConfig } from '../../../packages/device/src/test-tokens.ts';
import { runCommand } from '../../../test/support/cli-command.ts';
import { opensslVerifiesSm2Signature } from '../../../test/support/openssl-cli.ts';
import { registerDeviceCommands } from './device.ts';

const run = (config: DeviceConfig, ...args: string[]) =>
  runCommand((program) => registerDeviceCommands(program, async () => config), args);

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
    const dir = mkdtempSync(join(tmpdir(), 'device-cli-'));
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
  });
});

describe.skipIf(!hsmSim.available)('sm2ca device on hsm-sim', () => {
  const config = tokenConfig(hsmSim, 'cli', '12345678');
  beforeAll(async () => {
    await hsmSim.createTokens(['cli'], '87654321', '12345678');
  });

  it('signs SM2-with-SM3 under the default ID, as OpenSSL verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'device-cli-sm2-'));
    writeFileSync(join(dir, 'pub.pem'), await run(config, 'device', 'keygen', '--label', 'ca'));
    writeFileSync(join(dir, 'msg'), 'tbsCertificate stand-in');
    await run(config, 'device', 'sign', '--label', 'ca', '--in', join(dir, 'msg'), '--out', join(dir, 'sig'));
    expect(opensslVerifiesSm2Signature(dir, 'pub.pem', 'sig', 'msg')).toBe(true);
    expect(await run(config, 'device', 'info')).toContain('hsm-sim:sign');
  });
});
