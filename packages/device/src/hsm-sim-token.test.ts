import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDevice } from './device.ts';
import { DeviceError } from './device-error.ts';
import { ensureHsmSimToken } from './hsm-sim-token.ts';
import { hsmSim } from './test-tokens.ts';

describe.skipIf(!hsmSim.available)('ensureHsmSimToken', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const embedded = () => {
    const dir = mkdtempSync(join(tmpdir(), 'device-embedded-'));
    dirs.push(dir);
    const options = { dir, label: 'sm2ca', soPin: 'so-secret', pin: 'user-secret', module: hsmSim.module };
    const config = {
      module: hsmSim.module,
      vendor: 'hsm-sim' as const,
      tokenLabel: 'sm2ca',
      pin: options.pin,
    };
    return { options, config };
  };

  it('creates the token once and keeps its keys across restarts', async () => {
    const { options, config } = embedded();
    expect(await ensureHsmSimToken(options)).toBe(true);
    const first = await openDevice(config);
    const spki = await first.generateKeyPair({ label: 'root' });
    await first.close();

    expect(await ensureHsmSimToken(options)).toBe(false);
    const second = await openDevice(config);
    try {
      expect(Buffer.from(await second.publicKey('root')).equals(Buffer.from(spki))).toBe(true);
      const message = Buffer.from('after a restart');
      expect(await second.verify(spki, message, await second.sign('root', message))).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('reports a token whose token.meta is corrupt, and neither replaces it nor erases its keys', async () => {
    const { options, config } = embedded();
    await ensureHsmSimToken(options);
    const first = await openDevice(config);
    const spki = await first.generateKeyPair({ label: 'root' });
    await first.close();
    const meta = join(options.dir, 'slot-0', 'token.meta');
    const objects = join(options.dir, 'slot-0', 'objects');
    const saved = readFileSync(meta);
    const files = readdirSync(objects).sort();
    expect(files).toHaveLength(2);

    writeFileSync(meta, 'not a token\n');
    const refused = await openDevice(config).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DeviceError);
    expect(refused).toMatchObject({ code: 'DEVICE_TOKEN_UNREADABLE', ckr: 'CKR_TOKEN_NOT_RECOGNIZED' });
    expect((refused as DeviceError).message).toMatch(
      /^no readable token labelled "sm2ca": the token in "hsm-sim slot 0" cannot be read/,
    );
    await expect(ensureHsmSimToken(options)).rejects.toMatchObject({ code: 'DEVICE_TOKEN_UNREADABLE' });
    expect(readdirSync(objects).sort()).toEqual(files);
    expect(readFileSync(meta, 'utf8')).toBe('not a token\n');

    writeFileSync(meta, saved);
    const restored = await openDevice(config);
    try {
      expect(Buffer.from(await restored.publicKey('root')).equals(Buffer.from(spki))).toBe(true);
    } finally {
      await restored.close();
    }
  });
});
