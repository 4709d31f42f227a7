import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDevice } from './device.ts';
import { ensureHsmSimToken } from './hsm-sim-token.ts';
import { hsmSim } from './test-tokens.ts';

describe.skipIf(!hsmSim.available)('ensureHsmSimToken', () => {
  it('creates the token once and keeps its keys across restarts', async () => {
    const options = {
      dir: mkdtempSync(join(tmpdir(), 'device-embedded-')),
      label: 'sm2ca',
      soPin: 'so-secret',
      pin: 'user-secret',
      module: hsmSim.module,
    };
    expect(await ensureHsmSimToken(options)).toBe(true);
    const config = {
      module: hsmSim.module,
      vendor: 'hsm-sim' as const,
      tokenLabel: 'sm2ca',
      pin: options.pin,
    };
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
});
