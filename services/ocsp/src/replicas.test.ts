import { buildOcspRequest } from '@sm2ca/pki';
import type { HttpServer } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countingDevice,
  createOcspTestBed,
  get,
  type OcspTestBed,
  statusOf,
} from './test-support/ocsp-test-bed.ts';

describe('OCSP replicas', () => {
  let bed: OcspTestBed;
  const first = { app: undefined as unknown as HttpServer, ...({} as ReturnType<typeof countingDevice>) };
  const second = { app: undefined as unknown as HttpServer, ...({} as ReturnType<typeof countingDevice>) };

  beforeAll(async () => {
    bed = await createOcspTestBed();
    Object.assign(first, countingDevice(bed.ca.device));
    Object.assign(second, countingDevice(bed.ca.device));
  });
  afterAll(() => bed?.close());

  const storedDer = async (serial: string, algorithm = 'sha1') =>
    (await bed.storedResponses(serial)).find((r) => r.hash_algorithm === algorithm)?.der;

  it('lets only the lock holder pre-sign; the others serve its stored bytes', async () => {
    const cert = await bed.issue();
    first.app = await bed.responder({ device: first.device });
    await expect.poll(async () => (await bed.storedResponses(cert.serial)).length).toBe(2);
    second.app = await bed.responder({ device: second.device });
    for (const algorithm of ['sha1', 'sm3'] as const) {
      const res = await get(second.app, buildOcspRequest([bed.certId(cert.serial, algorithm)]));
      expect(res.rawPayload.equals((await storedDer(cert.serial, algorithm))!)).toBe(true);
    }
    expect(first.signed()).toBeGreaterThanOrEqual(2);
    expect(second.signed()).toBe(0);

    const later = await bed.issue();
    await expect.poll(() => storedDer(later.serial)).toBeDefined();
    const request = buildOcspRequest([bed.certId(later.serial)]);
    const stored = (await storedDer(later.serial))!;
    await expect.poll(async () => (await get(second.app, request)).rawPayload.equals(stored)).toBe(true);
  });

  it('hands pre-signing to another replica when the leader stops', async () => {
    await bed.stop(first.app);
    const cert = await bed.issue();
    await expect.poll(async () => (await bed.storedResponses(cert.serial)).length).toBe(2);
    await bed.revoke(cert, 'keyCompromise');
    await expect
      .poll(async () => (await bed.storedResponses(cert.serial)).map((r) => r.status))
      .toEqual(['revoked', 'revoked']);
    expect(second.signed()).toBeGreaterThanOrEqual(4);
    const res = await get(second.app, buildOcspRequest([bed.certId(cert.serial)]));
    expect(res.rawPayload.equals((await storedDer(cert.serial))!)).toBe(true);
  });

  it('catches up on status changes made while its connection was down', async () => {
    const cert = await bed.issue();
    const request = buildOcspRequest([bed.certId(cert.serial)]);
    await expect.poll(async () => statusOf((await get(second.app, request)).rawPayload)).toBe('good');
    await bed.ca.db.pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sm2ca-ocsp-control' AND datname = current_database()",
    );
    await bed.revoke(cert, 'affiliationChanged');
    await expect.poll(async () => statusOf((await get(second.app, request)).rawPayload)).toBe('revoked');
    await expect
      .poll(async () => (await bed.storedResponses(cert.serial)).map((r) => r.status))
      .toEqual(['revoked', 'revoked']);
  });
});
