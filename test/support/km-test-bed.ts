import { randomBytes, randomUUID } from 'node:crypto';
import { encodeSm2Spki } from '@sm2ca/gm';
import { buildKmApp, ensureKmMasterKey, kmMasterKeyLabel } from '@sm2ca/km';
import {
  decodeKmRespond,
  type KmRequestItem,
  type KsRequest,
  parseCertificate,
  type Signer,
  signCaRequest,
} from '@sm2ca/pki';
import { createLogger, type HttpServer } from '@sm2ca/platform';
import smCrypto from 'sm-crypto';
import { createCaTestBed } from '../../services/ca/src/test-support/ca-test-bed.ts';
import { fillPool } from '../../services/km/src/pool-filler.ts';

const DAY_MS = 86_400_000;

/** A holder's signature key as their own tools would make it, outside our device: sm-crypto. */
export function holderKey(): { privateKeyHex: string; spki: Uint8Array } {
  const { privateKey, publicKey } = smCrypto.sm2.generateKeyPairHex();
  return { privateKeyHex: privateKey, spki: encodeSm2Spki(Buffer.from(publicKey, 'hex')) };
}

/** An encryption certificate's serial as certificates.serial stores it: positive, minimal. */
export function userCertNo(): string {
  return `4${randomBytes(8).toString('hex').slice(1)}`;
}

export const taskNo = () => `task-${randomUUID()}`;

/**
 * A KM as in production but in-process, on the CA test bed (real token, real database, the real
 * key ceremony with its km and ca-km certificates) plus the KM master key; requests go through
 * `app.inject`, signed by the CA's ca-km key unless told otherwise. The background leader (pool
 * filler, expiry) runs only when asked for, so tests see the pool they filled themselves.
 */
export async function createKmTestBed(env: NodeJS.ProcessEnv = {}, options: { background?: boolean } = {}) {
  const ca = await createCaTestBed({ SM2CA_KM_POOL_SIZE: '10', SM2CA_KM_POOL_LOW_WATER: '3', ...env });
  await ensureKmMasterKey(ca.db.pool, ca.device, { name: 'cli', role: 'key_ceremony' });
  const log = createLogger('km', { level: 'silent' });
  const app: HttpServer = await buildKmApp(
    {
      config: ca.config,
      log,
      db: { pool: ca.db.pool, url: ca.db.url, close: async () => {} },
      device: ca.device,
    },
    { background: options.background ?? false, leaderRetryMs: 200 },
  );
  await app.ready();
  const caKmSigner = ca.device.signer('ca-km');
  const km = {
    pool: ca.db.pool,
    device: ca.device,
    masterKeyLabel: kmMasterKeyLabel,
    poolLowWater: ca.config.km.poolLowWater,
    log,
  };
  const { rows } = await ca.db.pool.query("SELECT certificate FROM issuers WHERE id = 'km'");
  const kmCertificate = parseCertificate(new Uint8Array(rows[0].certificate));

  /** POSTs a CARequest and reads the KMRespond, whatever the status. */
  const send = async (
    request: Partial<KsRequest> & { requests: KmRequestItem[] },
    options: { signer?: Signer; raw?: (der: Uint8Array) => Uint8Array } = {},
  ) => {
    const der = await signCaRequest(
      { caName: 'sub', requestTime: new Date(), taskNo: taskNo(), ...request },
      options.signer ?? caKmSigner,
    );
    return post(options.raw ? options.raw(der) : der);
  };
  const post = async (body: Uint8Array, contentType = 'application/octet-stream') => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/gmt0014',
      headers: { 'content-type': contentType },
      payload: Buffer.from(body),
    });
    const isDer = String(res.headers['content-type']).startsWith('application/octet-stream');
    const decoded = isDer ? decodeKmRespond(new Uint8Array(res.rawPayload)) : undefined;
    return {
      status: res.statusCode,
      code: res.headers['x-sm2ca-error-code'] as string | undefined,
      der: new Uint8Array(res.rawPayload),
      respond: decoded?.respond,
      /** Whether the answer verifies under the KM certificate of the ceremony. */
      signedByKm: async () =>
        decoded ? ca.device.verify(kmCertificate.spki, decoded.tbs, decoded.signature) : false,
      json: () => res.json(),
    };
  };

  return {
    ...ca,
    app,
    km,
    caKmSigner,
    send,
    post,
    applyItem(holder: { spki: Uint8Array }, certNo = userCertNo()): KmRequestItem {
      const notBefore = new Date();
      return {
        kind: 'applyKey',
        userCertNo: certNo,
        userPublicKey: holder.spki,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 365 * DAY_MS),
      };
    },
    /** Generates `n` pooled keys now, as the filler would. */
    fill: (n: number) => fillPool(km, { poolSize: n, poolLowWater: n }, () => true),
    pooled: async () =>
      (await ca.db.pool.query("SELECT count(*)::int AS n FROM km_keys WHERE state = 'pooled'")).rows[0]
        .n as number,
    async close() {
      await app.close();
      await ca.close();
    },
  };
}

export type KmTestBed = Awaited<ReturnType<typeof createKmTestBed>>;
