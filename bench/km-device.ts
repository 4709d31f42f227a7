/**
 * Key-escrow operations per second through packages/device on hsm-sim — generateWrappedKeyPair (what
 * refills the KM's key pool) and envelopeWrappedKey (what every key delivery or recovery costs) —
 * beside the device's SM2 sign rate measured the same way in the same run. One process, `inFlight`
 * operations at once on as many sessions. Prints figures, never asserts.
 * Run: npx tsx bench/km-device.ts
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import smCrypto from 'sm-crypto';
import { openDevice } from '../packages/device/src/device.ts';
import { encodeSpki } from '../packages/device/src/spki.ts';
import { hsmSim } from '../packages/device/src/test-tokens.ts';

const seconds = 3;
const inFlight = 2;
const sm2Curve = '1.2.156.10197.1.301';

/** Runs `operation` from `inFlight` loops for `seconds`; resolves to completions per second. */
async function rate(operation: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await operation(i);
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let done = 0;
  const loop = async () => {
    while (performance.now() < deadline) await operation(done++);
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  return done / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  if (!hsmSim.available) {
    console.log(`${hsmSim.module} is missing: build it with make -C hsm-sim`);
    return;
  }
  const { HSMSIM_DIR: dir } = await hsmSim.createTokens(['bench-km'], '87654321', '12345678');
  const device = await openDevice({
    module: hsmSim.module,
    vendor: 'hsm-sim',
    tokenLabel: 'bench-km',
    pin: '12345678',
    sessions: inFlight,
  });
  try {
    await device.generateKeyPair({ label: 'bench-sign' });
    await device.createMasterKey('bench-master');
    const holder = encodeSpki(sm2Curve, Buffer.from(smCrypto.sm2.generateKeyPairHex().publicKey, 'hex'));
    const escrowed = await Promise.all(
      Array.from({ length: 16 }, () => device.generateWrappedKeyPair('bench-master')),
    );
    const message = Buffer.alloc(256, 0x5a);

    const sign = await rate(() => device.sign('bench-sign', message));
    const generate = await rate(() => device.generateWrappedKeyPair('bench-master'));
    const envelope = await rate((i) => {
      const pair = escrowed[i % escrowed.length]!;
      return device.envelopeWrappedKey('bench-master', pair.wrappedPrivateKey, holder, pair.publicKey);
    });

    console.log(`km-device on hsm-sim (${cpus().length} CPUs), ${inFlight} in flight, ${seconds} s per run`);
    console.log('operation                 per second   vs sign');
    for (const [name, value] of [
      ['sign', sign],
      ['generateWrappedKeyPair', generate],
      ['envelopeWrappedKey', envelope],
    ] as const) {
      console.log(
        `${name.padEnd(24)} ${value.toFixed(0).padStart(11)} ${`${((value / sign) * 100).toFixed(0)}%`.padStart(9)}`,
      );
    }
  } finally {
    await device.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
