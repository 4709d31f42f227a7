import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Device, openDevice } from '@sm2ca/device';
import { decodeSm2Spki } from '@sm2ca/gm';
import { buildCsr, type DnAttribute, type Signer } from '@sm2ca/pki';
import { createLogger, type HttpServer, loadConfig, signInstruction } from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { hsmSim, tokenConfig } from '../../../../packages/device/src/test-tokens.ts';
import { freePort } from '../../../../test/support/free-port.ts';
import { serviceRolePool } from '../../../../test/support/service-role-pool.ts';
import { createTestDatabase } from '../../../../test/support/test-database.ts';
import { buildCaApp } from '../app.ts';
import { publishStatus } from '../certificate-events.ts';
import { runKeyCeremony } from '../key-ceremony.ts';

/**
 * A CA as in production but in-process: a real hsm-sim token, a real
 * database, the real key ceremony; requests go through `app.inject`. `env` adds settings.
 * The background OCSP-signer renewal and KM key revocations run only when asked for, so
 * tests that move the clock or count signers see only what they do themselves. The KM is
 * on a free port of its own (`config.services.km`), where nothing answers unless a test starts it.
 * With `serviceRole` the CA connects as sm2ca_ca, as `sm2ca start` runs it; `db.pool` stays the owner's.
 */
export async function createCaTestBed(
  env: NodeJS.ProcessEnv = {},
  options: { ocspSignerRenewal?: boolean; kmKeyRevocations?: boolean; serviceRole?: boolean } = {},
) {
  const db = await createTestDatabase();
  const pin = randomBytes(8).toString('hex');
  const { HSMSIM_DIR: tokenDir } = await hsmSim.createTokens(['ca-test'], `${pin}so`, pin);
  const device: Device = await openDevice(tokenConfig(hsmSim, 'ca-test', pin));
  const config = loadConfig({
    SM2CA_KM_PORT: String(await freePort()),
    ...env,
    SM2CA_HOME: mkdtempSync(join(tmpdir(), 'ca-test-home-')),
  });
  await runKeyCeremony(db.pool, device, config);
  // The key ceremony runs as the owner (`sm2ca init` does); the CA itself, when asked, as sm2ca_ca.
  const caPool = options.serviceRole ? await serviceRolePool(db.url, 'ca') : db.pool;
  const app: HttpServer = await buildCaApp(
    {
      config,
      log: createLogger('ca', { level: 'silent' }),
      db: { pool: caPool, url: db.url, close: async () => {} },
      device,
    },
    {
      ocspSignerRenewal: options.ocspSignerRenewal ?? false,
      kmKeyRevocations: options.kmKeyRevocations ?? false,
      leaderRetryMs: 200,
      kmRetryMs: 200,
    },
  );
  await app.ready();
  const raSigner = device.signer('ra');
  let holders = 0;

  /** POSTs a signed instruction as the RA would, or with another signer or timestamp to test refusals. */
  const instruct = async (
    path: string,
    body: Record<string, unknown>,
    options: { signer?: Signer; raw?: (b: Buffer) => Buffer } = {},
  ) => {
    const { payload, headers } = await signInstruction(body, options.signer ?? raSigner);
    return app.inject({
      method: 'POST',
      url: path,
      payload: options.raw ? options.raw(payload) : payload,
      headers,
    });
  };
  /** A holder key made in the device (as a holder's own token would) and its CSR, base64 DER. */
  const holderCsr = async (
    subject: DnAttribute[] = [
      { type: 'C', value: 'CN' },
      { type: 'CN', value: '张三' },
    ],
  ) => {
    const label = `holder-${++holders}`;
    const publicKey = decodeSm2Spki(await device.generateKeyPair({ label, token: false }));
    const csr = await buildCsr({ subject, publicKey }, device.signer(label));
    return Buffer.from(csr).toString('base64');
  };

  return {
    db,
    /** The pool the CA uses: db.pool, or sm2ca_ca's with `serviceRole`. */
    caPool,
    device,
    config,
    app,
    raSigner,
    instruct,
    holderCsr,
    /** A person-sign certificate for `commonName` on a fresh holder key; throws unless the CA issued it. */
    async issue(commonName: string) {
      const res = await instruct('/v1/instructions/issue', {
        operation: 'issue',
        profile: 'person-sign',
        csr: await holderCsr(),
        subject: [
          { type: 'C', value: 'CN' },
          { type: 'CN', value: commonName },
        ],
      });
      if (res.statusCode !== 200) throw new Error(`issue failed: ${res.body}`);
      return res.json() as { issuerId: string; serial: string; certificate: string };
    },
    /** Revokes a certificate the key ceremony made (keyCompromise) and announces it, as the CA would. */
    revokeCeremonyCertificate: (id: string) =>
      withTransaction(db.pool, async (client) => {
        const { rows } = await client.query(
          `UPDATE certificates SET status = 'revoked', revoked_at = now(), revocation_reason = 'keyCompromise'
            WHERE request_id = $1 RETURNING issuer_id, serial`,
          [`ceremony:${id}`],
        );
        await publishStatus(client, {
          issuerId: rows[0].issuer_id,
          serial: rows[0].serial,
          status: 'revoked',
        });
      }),
    async close() {
      await app.close();
      if (caPool !== db.pool) await caPool.end();
      await device.close();
      await db.drop();
      await rm(tokenDir!, { recursive: true, force: true });
      await rm(config.home, { recursive: true, force: true });
    },
  };
}

export type CaTestBed = Awaited<ReturnType<typeof createCaTestBed>>;
