import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeviceConfig } from './device-config.ts';
import { ensureHsmSimToken } from './hsm-sim-token.ts';
import type { VendorName } from './vendor-table.ts';

/** A PKCS#11 module the device tests run against, with throwaway tokens in a temp directory. */
export interface TestBackend {
  vendor: VendorName;
  module: string;
  available: boolean;
  /** Creates the tokens and returns the environment a child process needs to see them. */
  createTokens(labels: string[], soPin: string, pin: string): Promise<Record<string, string>>;
}

/** How to open one of a backend's tokens with its user PIN. */
export function tokenConfig(backend: TestBackend, tokenLabel: string, pin: string): DeviceConfig {
  return { module: backend.module, vendor: backend.vendor, tokenLabel, pin };
}

export const softhsm: TestBackend = {
  vendor: 'softhsm',
  module: '/usr/lib/softhsm/libsofthsm2.so',
  available: existsSync('/usr/lib/softhsm/libsofthsm2.so'),
  async createTokens(labels, soPin, pin) {
    const dir = mkdtempSync(join(tmpdir(), 'device-softhsm-'));
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    // SoftHSM reads its configuration once, in C_Initialize: set it before the first device opens.
    process.env.SOFTHSM2_CONF = conf;
    for (const label of labels) {
      execFileSync(
        'softhsm2-util',
        ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin],
        {
          stdio: 'ignore',
        },
      );
    }
    return { SOFTHSM2_CONF: conf };
  },
};

const hsmSimModule = fileURLToPath(new URL('../../../hsm-sim/build/libhsm-sim.so', import.meta.url));

export const hsmSim: TestBackend = {
  vendor: 'hsm-sim',
  module: hsmSimModule,
  available: existsSync(hsmSimModule),
  async createTokens(labels, soPin, pin) {
    const dir = mkdtempSync(join(tmpdir(), 'device-hsm-sim-'));
    for (const label of labels) await ensureHsmSimToken({ dir, label, soPin, pin, module: hsmSimModule });
    return { HSMSIM_DIR: dir };
  },
};
