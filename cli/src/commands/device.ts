import { readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { Device, type DeviceConfig, openDevice } from '@sm2ca/device';
import { sm3, toHex } from '@sm2ca/gm';
import { derToPem } from '@sm2ca/pki';
import { type Actor, AppError, type AuditEntry, type Database, recordAudit } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import type { Command } from 'commander';
import { keygenRefusal, signRefusal, sm2KeyId } from '../service-keys.ts';

/** Where the commands get their device (its configuration, or one opened already) and the CA's database. */
export interface DeviceSources {
  device: () => Promise<DeviceConfig | Device>;
  /** Names the service keys (issuers) and keeps the audit record of every key operation. */
  database: () => Promise<Database>;
}

async function withDevice<T>(sources: DeviceSources, use: (device: Device) => Promise<T>): Promise<T> {
  const source = await sources.device();
  const device = source instanceof Device ? source : await openDevice(source);
  try {
    return await use(device);
  } finally {
    await device.close();
  }
}

/** Key operations refuse service keys and are audited, so they need the database before the device. */
async function withDeviceAndDatabase<T>(
  sources: DeviceSources,
  use: (device: Device, pool: Pool) => Promise<T>,
): Promise<T> {
  const db = await sources.database();
  try {
    return await withDevice(sources, (device) => use(device, db.pool));
  } finally {
    await db.close();
  }
}

/** The operating-system account that ran the command: the CLI has no operator login of its own yet. */
const actor = (): Actor => ({ name: `cli:${userInfo().username}`, role: 'device_cli' });

const hexOrNone = (bytes: Uint8Array | undefined) => (bytes ? toHex(bytes) : null);

const keyEntry = (action: string, label: string, after: Record<string, unknown>): AuditEntry => ({
  action,
  subjectType: 'device_key',
  subjectId: label,
  after,
});

/** A refusal is on record before the operator sees it. */
async function refuse(pool: Pool, action: string, label: string, reason: string): Promise<never> {
  await withTransaction(pool, (client) => recordAudit(client, actor(), keyEntry(action, label, { reason })));
  throw new AppError(
    'DEVICE_KEY_RESERVED',
    `${reason}; service keys are made by the ceremony and sign only in their own service`,
    403,
  );
}

/**
 * `sm2ca device …`: look at the crypto device, generate a key in it, sign a file with it. The generic
 * commands never reach a service key (CA, RA, OCSP signer, KM, audit): those sign only in their
 * service's own flow.
 */
export function registerDeviceCommands(program: Command, sources: DeviceSources): void {
  const device = program.command('device').description('the crypto device (PKCS#11 token)');

  device
    .command('info')
    .description('show the PKCS#11 module, the token and its mechanisms')
    .action(() =>
      withDevice(sources, async (d) => {
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
    .description('generate a key pair on the token and print its public key (PEM); not for service keys')
    .requiredOption('--label <label>', 'label of the new key pair')
    .option('--extractable', 'allow the private key to be wrapped out of the device', false)
    .action(({ label, extractable }: { label: string; extractable: boolean }) =>
      withDeviceAndDatabase(sources, async (d, pool) => {
        const refusal = await keygenRefusal(pool, label);
        if (refusal) await refuse(pool, 'device.keygen.refused', label, refusal);
        const spki = await withTransaction(pool, async (client) => {
          const spki = await d.generateKeyPair({ label, extractable });
          await recordAudit(
            client,
            actor(),
            keyEntry('device.keygen', label, { extractable, keyId: hexOrNone(sm2KeyId(spki)) }),
          );
          return spki;
        });
        process.stdout.write(derToPem(spki, 'PUBLIC KEY'));
      }),
    );

  device
    .command('sign')
    .description(
      'sign a file with a token key: SM2-with-SM3 under the GM/T 0009 default ID, DER output; never a service key',
    )
    .requiredOption('--label <label>', 'label of the signing key')
    .requiredOption('--in <file>', 'file to sign')
    .requiredOption('--out <file>', 'where to write the DER signature')
    .option('--id <signerId>', 'SM2 signer ID instead of 1234567812345678')
    .action((options: { label: string; in: string; out: string; id?: string }) =>
      withDeviceAndDatabase(sources, async (d, pool) => {
        const { label } = options;
        const data = await readFile(options.in);
        const refusal = await signRefusal(pool, d, label);
        if (refusal) await refuse(pool, 'device.sign.refused', label, refusal);
        // The signature leaves the command only once its audit record is committed.
        const signature = await withTransaction(pool, async (client) => {
          const signature = await d.sign(label, data, options.id ? { signerId: options.id } : {});
          await recordAudit(
            client,
            actor(),
            keyEntry('device.sign', label, {
              sm3: toHex(sm3(data)),
              bytes: data.length,
              signerId: options.id,
            }),
          );
          return signature;
        });
        await writeFile(options.out, signature);
      }),
    );
}
