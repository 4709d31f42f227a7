import { randomBytes } from 'node:crypto';
import { buildOcspRequest, parseCertificate, verifyOcspResponse } from '@sm2ca/pki';
import type { HttpServer } from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { publishStatus } from '../../ca/src/certificate-events.ts';
import { runKeyCeremony } from '../../ca/src/key-ceremony.ts';
import {
  basicOf,
  createOcspTestBed,
  get,
  type IssuedCertificate,
  type OcspTestBed,
  post,
  statusOf,
} from './test-support/ocsp-test-bed.ts';

/** A bound for a loaded machine, not a latency goal. */
const settle = { timeout: 20_000 };

describe('OCSP: a revoked signer signs nothing more', () => {
  let bed: OcspTestBed;
  let app: HttpServer;
  let cert: IssuedCertificate;

  beforeAll(async () => {
    bed = await createOcspTestBed();
    cert = await bed.issue();
    app = await bed.responder({ sweepMs: 200 });
    await vi.waitFor(async () => expect(await bed.storedResponses(cert.serial)).toHaveLength(2), settle);
  });
  afterAll(() => bed?.close());

  /** The issuers id of the signer whose certificate a response carries. */
  async function signerOf(der: Buffer): Promise<string> {
    const signer = Buffer.from(parseCertificate(basicOf(der).certs[0]!).der);
    const { rows } = await bed.ca.db.pool.query('SELECT id, certificate FROM issuers');
    return rows.find((r) => signer.equals(r.certificate)).id;
  }

  /** As the administrators' CA-level path will: the status change and its event in one transaction. */
  const revokeSigner = (id: string) =>
    withTransaction(bed.ca.db.pool, async (client) => {
      const { rows } = await client.query(
        `UPDATE certificates SET status = 'revoked', revoked_at = now(), revocation_reason = 'keyCompromise'
          WHERE request_id = $1 RETURNING issuer_id, serial`,
        [`ceremony:${id}`],
      );
      await publishStatus(client, { issuerId: rows[0].issuer_id, serial: rows[0].serial, status: 'revoked' });
    });

  it('stops signing with a revoked signer and signs with the fresh one the key ceremony makes', async () => {
    const request = buildOcspRequest([bed.certId(cert.serial)]);
    const withNonce = () => buildOcspRequest([bed.certId(cert.serial)], randomBytes(16));
    expect(await signerOf((await get(app, request)).rawPayload)).toBe('ocsp-sub-1');

    await revokeSigner('ocsp-sub-1');
    // No other signer of the issuing CA is usable: its certificates are not answered for meanwhile.
    await vi.waitFor(
      async () => expect(statusOf((await get(app, request)).rawPayload)).toBe('unauthorized'),
      settle,
    );
    expect(statusOf((await post(app, withNonce())).rawPayload)).toBe('unauthorized');

    expect(await runKeyCeremony(bed.ca.db.pool, bed.ca.device, bed.ca.config)).toEqual({
      created: ['ocsp-sub-2'],
    });
    await vi.waitFor(async () => expect(statusOf((await get(app, request)).rawPayload)).toBe('good'), settle);
    for (const res of [await get(app, request), await post(app, request), await post(app, withNonce())]) {
      expect(await signerOf(res.rawPayload)).toBe('ocsp-sub-2');
    }
    await vi.waitFor(async () => {
      const { rows } = await bed.ca.db.pool.query(
        'SELECT DISTINCT signer_id FROM ocsp_responses WHERE serial = $1',
        [cert.serial],
      );
      expect(rows).toEqual([{ signer_id: 'ocsp-sub-2' }]);
    }, settle);
  });

  it('falls back on an older signer still usable, and no replica serves what the revoked one signed', async () => {
    // ocsp-sub-1 counts as unrevoked again, so the issuing CA has two usable signers.
    await withTransaction(bed.ca.db.pool, async (client) => {
      const { rows } = await client.query(
        `UPDATE certificates SET status = 'good', revoked_at = NULL, revocation_reason = NULL
          WHERE request_id = 'ceremony:ocsp-sub-1' RETURNING issuer_id, serial`,
      );
      await publishStatus(client, { issuerId: rows[0].issuer_id, serial: rows[0].serial, status: 'good' });
    });
    const other = await bed.issue();
    await vi.waitFor(async () => expect(await bed.storedResponses(other.serial)).toHaveLength(2), settle);
    const replica = await bed.responder({ sweepMs: 200 });
    const requests = (['sha1', 'sm3'] as const).map((algorithm) =>
      buildOcspRequest([bed.certId(other.serial, algorithm)]),
    );
    for (const request of requests) {
      for (const responder of [app, replica]) {
        expect(await signerOf((await get(responder, request)).rawPayload)).toBe('ocsp-sub-2');
      }
    }

    await revokeSigner('ocsp-sub-2');
    for (const request of requests) {
      for (const responder of [app, replica]) {
        await vi.waitFor(
          async () => expect(await signerOf((await get(responder, request)).rawPayload)).toBe('ocsp-sub-1'),
          settle,
        );
        expect(statusOf((await get(responder, request)).rawPayload)).toBe('good');
      }
    }
    await vi.waitFor(async () => {
      const { rows } = await bed.ca.db.pool.query(
        "SELECT DISTINCT signer_id FROM ocsp_responses WHERE issuer_id = 'sub' AND signer_id = 'ocsp-sub-2'",
      );
      expect(rows).toEqual([]);
    }, settle);
    await bed.stop(replica);
  });
});

describe('OCSP: the CA replaces a revoked signer on its own', () => {
  let bed: OcspTestBed;
  let app: HttpServer;
  let cert: IssuedCertificate;

  beforeAll(async () => {
    bed = await createOcspTestBed({ ocspSignerRenewal: true });
    cert = await bed.issue();
    // The default sweep, a minute: the new signer must come through the CA's notification, not a reload.
    app = await bed.responder();
  });
  afterAll(() => bed?.close());

  it('answers with a fresh signer the CA makes when the current one is revoked, without init', async () => {
    const request = buildOcspRequest([bed.certId(cert.serial)]);
    await vi.waitFor(async () => expect(statusOf((await get(app, request)).rawPayload)).toBe('good'), settle);

    await withTransaction(bed.ca.db.pool, async (client) => {
      const { rows } = await client.query(
        `UPDATE certificates SET status = 'revoked', revoked_at = now(), revocation_reason = 'keyCompromise'
          WHERE request_id = 'ceremony:ocsp-sub-1' RETURNING issuer_id, serial`,
      );
      await publishStatus(client, { issuerId: rows[0].issuer_id, serial: rows[0].serial, status: 'revoked' });
    });

    const fresh = await vi.waitFor(async () => {
      const { rows } = await bed.ca.db.pool.query(
        "SELECT certificate, subject_key_id FROM issuers WHERE id = 'ocsp-sub-2'",
      );
      expect(rows).toHaveLength(1);
      return rows[0] as { certificate: Buffer; subject_key_id: Buffer };
    }, settle);
    const signer = parseCertificate(fresh.certificate);
    for (const send of [get, post]) {
      await vi.waitFor(async () => {
        const basic = basicOf((await send(app, request)).rawPayload);
        expect(basic.responses[0]!.certStatus).toEqual({ status: 'good' });
        expect(basic.responderKeyHash).toEqual(fresh.subject_key_id);
        expect(Buffer.from(parseCertificate(basic.certs[0]!).der).equals(fresh.certificate)).toBe(true);
        expect(await verifyOcspResponse(basic, signer.spki, bed.ca.device)).toBe(true);
      }, settle);
    }
    const audit = await bed.ca.db.pool.query(
      "SELECT actor, actor_role FROM audit_log WHERE action = 'issuer.create' AND subject_id = 'ocsp-sub-2'",
    );
    expect(audit.rows).toEqual([{ actor: 'ca', actor_role: 'key_ceremony' }]);
    const { rows } = await bed.ca.db.pool.query(
      "SELECT id FROM issuers WHERE kind = 'ocsp' ORDER BY created_at",
    );
    expect(rows.map((r) => r.id)).toEqual(['ocsp-root-1', 'ocsp-sub-1', 'ocsp-sub-2']);
  });
});
