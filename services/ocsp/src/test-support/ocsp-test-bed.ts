import type { Device } from '@sm2ca/device';
import {
  buildOcspCertId,
  type OcspHashAlgorithm,
  type OcspIssuer,
  ocspGetPath,
  type ParsedBasicOcspResponse,
  parseCertificate,
  parseOcspResponse,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import { type Config, createLogger, type HttpServer } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { type CaTestBed, createCaTestBed } from '../../../ca/src/test-support/ca-test-bed.ts';
import { buildOcspApp, type OcspAppOptions } from '../app.ts';

export interface IssuedCertificate {
  issuerId: string;
  serial: string;
  /** DER */
  certificate: Buffer;
}

/** A device whose `sign()` calls are counted: each is one OCSP response signed by that responder. */
export function countingDevice(device: Device): { device: Device; signed: () => number } {
  let count = 0;
  const proxy = new Proxy(device, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property === 'sign') {
        return (...args: Parameters<Device['sign']>) => {
          count++;
          return target.sign(...args);
        };
      }
      return value.bind(target);
    },
  });
  return { device: proxy, signed: () => count };
}

/**
 * The CA test bed (real hsm-sim token, database, key ceremony) plus OCSP responders
 * built on it; certificates are issued and revoked through the CA's own routes.
 */
export async function createOcspTestBed(caOptions: { ocspSignerRenewal?: boolean } = {}) {
  const ca: CaTestBed = await createCaTestBed({}, caOptions);
  const apps: HttpServer[] = [];
  const subDer = (await ca.db.pool.query("SELECT certificate FROM issuers WHERE id = 'sub'")).rows[0]
    .certificate as Buffer;
  const sub = parseCertificate(subDer);
  const subIssuer: OcspIssuer = { subjectDer: sub.subject, publicKey: publicKeyOfSpki(sub.spki) };

  return {
    ca,
    subDer,
    subIssuer,
    /** A responder replica; `pool` stands in for its own database pool (default: the bed's). */
    async responder(options: OcspAppOptions & { pool?: Pool; device?: Device; config?: Config } = {}) {
      const app = await buildOcspApp(
        {
          config: options.config ?? ca.config,
          log: createLogger('ocsp', { level: 'silent' }),
          db: { pool: options.pool ?? ca.db.pool, url: ca.db.url, close: async () => {} },
          device: options.device ?? ca.device,
        },
        {
          retryMs: options.retryMs ?? 200,
          ...(options.sweepMs ? { sweepMs: options.sweepMs } : {}),
          ...(options.now ? { now: options.now } : {}),
        },
      );
      await app.ready();
      apps.push(app);
      return app;
    },
    /** Stops one replica, as a crash or a scale-down would. */
    async stop(app: HttpServer) {
      apps.splice(apps.indexOf(app), 1);
      await app.close();
    },
    async issue(): Promise<IssuedCertificate> {
      const { issuerId, serial, certificate } = await ca.issue('王五');
      return { issuerId, serial, certificate: Buffer.from(certificate, 'base64') };
    },
    async revoke(cert: IssuedCertificate, reason: string) {
      const res = await ca.instruct('/v1/instructions/revoke', {
        operation: 'revoke',
        issuerId: cert.issuerId,
        serial: cert.serial,
        reason,
      });
      if (res.statusCode !== 200) throw new Error(`revoke failed: ${res.body}`);
      return res.json() as { revokedAt: string };
    },
    certId(serial: string | bigint, algorithm: OcspHashAlgorithm = 'sha1'): Buffer {
      const value = typeof serial === 'bigint' ? serial : BigInt(`0x${serial}`);
      return buildOcspCertId(subIssuer, value, algorithm).der;
    },
    async storedResponses(serial: string) {
      const { rows } = await ca.db.pool.query(
        'SELECT hash_algorithm, status, der FROM ocsp_responses WHERE serial = $1 ORDER BY hash_algorithm',
        [serial],
      );
      return rows as Array<{ hash_algorithm: OcspHashAlgorithm; status: string; der: Buffer }>;
    },
    async close() {
      for (const app of apps) await app.close();
      await ca.close();
    },
  };
}

export type OcspTestBed = Awaited<ReturnType<typeof createOcspTestBed>>;

export async function get(app: HttpServer, request: Buffer, headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url: `/ocsp/${ocspGetPath(request)}`, headers });
}

export async function post(app: HttpServer, request: Buffer) {
  return app.inject({
    method: 'POST',
    url: '/ocsp',
    payload: request,
    headers: { 'content-type': 'application/ocsp-request' },
  });
}

/** The BasicOCSPResponse, or the error status as a string. */
export function basicOf(der: Buffer | Uint8Array): ParsedBasicOcspResponse {
  const parsed = parseOcspResponse(der);
  if (parsed.status !== 'successful') throw new Error(`OCSP status ${parsed.status}`);
  return parsed.basic;
}

export function statusOf(der: Buffer | Uint8Array): string {
  const parsed = parseOcspResponse(der);
  return parsed.status === 'successful' ? parsed.basic.responses[0]!.certStatus.status : parsed.status;
}
