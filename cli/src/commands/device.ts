import { readFile, writeFile } from 'node:fs/promises';
import { Device, type DeviceConfig, openDevice } from '@sm2ca/device';
import type { Command } from 'commander';

function pem(type: string, der: Uint8Array): string {
  const body = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----\n`;
}

/** Where the commands get their device: its configuration, or a device the caller opened already. */
export type DeviceSource = () => Promise<DeviceConfig | Device>;

async function withDevice<T>(getDeviceConfig: DeviceSource, use: (device: Device) => Promise<T>): Promise<T> {
  const source = await getDeviceConfig();
  const device = source instanceof Device ? source : await openDevice(source);
  try {
    return await use(device);
  } finally {
    await device.close();
  }
}

/** `sm2ca device …`: look at the crypto device, generate a key in it, sign a file with it. */
export function registerDeviceCommands(program: Command, getDeviceConfig: DeviceSource): void {
  const device = program.command('device').description('the crypto device (PKCS#11 token)');

  device
    .command('info')
    .description('show the PKCS#11 module, the token and its mechanisms')
    .action(() =>
      withDevice(getDeviceConfig, async (d) => {
        const info = d.info();
        const lines = [
          `module:       ${info.module}`,
          `library:      ${info.library.description} ${info.library.version} (${info.library.manufacturer})`,
          `vendor table: ${info.vendor}`,
          `token:        ${info.token.label} — ${info.token.model} (${info.token.manufacturer}), serial ${info.token.serialNumber}`,
          `mechanisms (${info.mechanisms.length}):`,
          ...info.mechanisms.map((m) => `  0x${m.type.toString(16).padStart(8, '0')}  ${m.name}`),
        ];
        console.log(lines.join('\n'));
      }),
    );

  device
    .command('keygen')
    .description('generate a key pair on the token and print its public key (PEM)')
    .requiredOption('--label <label>', 'label of the new key pair')
    .option('--extractable', 'allow the private key to be wrapped out of the device', false)
    .action((options: { label: string; extractable: boolean }) =>
      withDevice(getDeviceConfig, async (d) => {
        const spki = await d.generateKeyPair({ label: options.label, extractable: options.extractable });
        process.stdout.write(pem('PUBLIC KEY', spki));
      }),
    );

  device
    .command('sign')
    .description('sign a file with a token key: SM2-with-SM3 under the GM/T 0009 default ID, DER output')
    .requiredOption('--label <label>', 'label of the signing key')
    .requiredOption('--in <file>', 'file to sign')
    .requiredOption('--out <file>', 'where to write the DER signature')
    .option('--id <signerId>', 'SM2 signer ID instead of 1234567812345678')
    .action((options: { label: string; in: string; out: string; id?: string }) =>
      withDevice(getDeviceConfig, async (d) => {
        const data = await readFile(options.in);
        const signature = await d.sign(options.label, data, options.id ? { signerId: options.id } : {});
        await writeFile(options.out, signature);
      }),
    );
}
