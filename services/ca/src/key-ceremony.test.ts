import { lintCertificate, OIDS, parseCertificate } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import { connectPool, withTransaction } from '@sm2ca/store';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { publishStatus } from './certificate-events.ts';
import { renewOcspSigners, runKeyCeremony } from './key-ceremony.ts';
import { type CaTestBed, createCaTestBed } from './test-support/ca-test-bed.ts';

const DAY_MS = 86_400_000;

async function hierarchy(bed: CaTestBed) {
  const { rows } = await bed.db.pool.query('SELECT id, certificate FROM issuers');
  return new Map(
    rows.map((r: { id: string; certificate: Buffer }) => [r.id, parseCertificate(r.certificate)]),
  );
}

const days = (cert: { notBefore: Date; notAfter: Date }) =>
  (cert.notAfter.getTime() - cert.notBefore.getTime()) / DAY_MS;

describe('key ceremony: lifetimes', () => {
  let bed: CaTestBed;
  afterEach(async () => {
    vi.useRealTimers();
    await bed?.close();
  });

  it('gives the root at most the 3653 days relying parties accept and keeps the issuing CA inside it', async () => {
    bed = await createCaTestBed();
    const certs = await hierarchy(bed);
    const [root, sub, ra] = [certs.get('root')!, certs.get('sub')!, certs.get('ra')!];
    expect(days(root)).toBe(3650);
    expect(days(root)).toBeLessThanOrEqual(3653);
    expect(days(sub)).toBe(1826);
    expect(sub.notAfter.getTime()).toBeLessThan(root.notAfter.getTime());
    expect(sub.notBefore.getTime()).toBeGreaterThanOrEqual(root.notBefore.getTime());
    expect(ra.notAfter.getTime()).toBeLessThanOrEqual(sub.notAfter.getTime());
  });

  it("caps every certificate at its issuer's notAfter", async () => {
    bed = await createCaTestBed({ SM2CA_ROOT_CA_DAYS: '300', SM2CA_ISSUING_CA_DAYS: '200' });
    const certs = await hierarchy(bed);
    const [root, sub] = [certs.get('root')!, certs.get('sub')!];
    expect(days(root)).toBe(300);
    expect(days(sub)).toBe(200);
    // two years asked for the RA, a year for each OCSP signer: each ends with its issuer
    for (const [id, issuer] of [
      ['ra', sub],
      ['km', sub],
      ['ca-km', sub],
      ['ocsp-sub-1', sub],
      ['ocsp-root-1', root],
    ] as const) {
      expect(certs.get(id)!.notAfter.getTime(), id).toBe(issuer.notAfter.getTime());
    }
    // near the CA's end a new signer could last no longer than the one it has
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(sub.notAfter.getTime() - 10 * DAY_MS);
    expect(await runKeyCeremony(bed.db.pool, bed.device, bed.config)).toEqual({ created: [] });
  });
});

describe('key ceremony: delegated OCSP signers', () => {
  let bed: CaTestBed;
  beforeAll(async () => {
    bed = await createCaTestBed();
  });
  afterAll(() => bed.close());
  afterEach(() => vi.useRealTimers());

  const signers = async () =>
    (
      await bed.db.pool.query(
        "SELECT id, parent_id, key_label, certificate FROM issuers WHERE kind = 'ocsp' ORDER BY created_at",
      )
    ).rows as Array<{ id: string; parent_id: string; key_label: string; certificate: Buffer }>;

  it('gives the root and the issuing CA each a signer under the ocsp-signer profile', async () => {
    const rows = await signers();
    expect(rows.map((r) => [r.id, r.parent_id, r.key_label])).toEqual([
      ['ocsp-root-1', 'root', 'ocsp-root-1'],
      ['ocsp-sub-1', 'sub', 'ocsp-sub-1'],
    ]);
    const parents = await bed.db.pool.query(
      "SELECT id, certificate FROM issuers WHERE id IN ('root', 'sub')",
    );
    for (const row of rows) {
      const issuer = parents.rows.find((p) => p.id === row.parent_id).certificate;
      const findings = await lintCertificate(row.certificate, {
        issuer,
        profile: 'ocsp-signer',
        verifier: bed.device,
      });
      expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
      const cert = parseCertificate(row.certificate);
      expect(cert.extensions.map((e) => e.oid)).toContain(OIDS.ocspNoCheck);
      const recorded = await bed.db.pool.query(
        'SELECT status FROM certificates WHERE issuer_id = $1 AND serial = $2',
        [row.parent_id, cert.serialHex],
      );
      expect(recorded.rows[0]?.status).toBe('good');
    }
    await expect(bed.device.publicKey('ocsp-sub-1')).resolves.toBeInstanceOf(Uint8Array);
  });

  it('generates every key of the hierarchy sign-only and sensitive; only CA keys leave, and only under a trusted key', async () => {
    for (const label of ['root-ca', 'sub-ca', 'ra', 'km', 'ca-km', 'ocsp-root-1', 'ocsp-sub-1', 'audit']) {
      const ca = label === 'root-ca' || label === 'sub-ca';
      expect(await bed.device.inspectKeyPair(label), label).toEqual({
        privateKeys: 1,
        publicKeys: 1,
        privateKey: {
          private: true,
          sensitive: true,
          alwaysSensitive: true,
          extractable: ca,
          neverExtractable: !ca,
          local: true,
          sign: true,
          decrypt: false,
          unwrap: false,
          wrapWithTrusted: ca,
        },
      });
    }
  });

  it('changes nothing on a second run', async () => {
    expect(await runKeyCeremony(bed.db.pool, bed.device, bed.config)).toEqual({ created: [] });
  });

  it('issues a new signer under a new label when the newest expires within 30 days, keeping the old', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 340 * DAY_MS);
    expect(await runKeyCeremony(bed.db.pool, bed.device, bed.config)).toEqual({
      created: ['ocsp-root-2', 'ocsp-sub-2'],
    });
    expect(await runKeyCeremony(bed.db.pool, bed.device, bed.config)).toEqual({ created: [] });
    const rows = await signers();
    expect(rows.map((r) => r.id)).toEqual(['ocsp-root-1', 'ocsp-sub-1', 'ocsp-root-2', 'ocsp-sub-2']);
    const [first, renewed] = [rows[1]!, rows[3]!].map((r) => parseCertificate(r.certificate));
    expect(renewed!.notAfter.getTime()).toBeGreaterThan(first!.notAfter.getTime());
  });

  it("refuses a key planted under the next signer's label unless it is what the ceremony would make", async () => {
    const refusal = async () =>
      (await runKeyCeremony(bed.db.pool, bed.device, bed.config).catch((e: unknown) => e)) as AppError;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 680 * DAY_MS);
    await bed.device.generateKeyPair({ label: 'ocsp-root-3', decrypt: true });
    let error = await refusal();
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('CEREMONY_KEY_REFUSED');
    expect(error.message).toMatch(/labelled "ocsp-root-3" .*CKA_DECRYPT; CKA_UNWRAP/);

    await bed.device.deleteKey('ocsp-root-3');
    const adopted = await bed.device.generateKeyPair({ label: 'ocsp-root-3' });
    await bed.device.generateKeyPair({ label: 'ocsp-sub-3', extractable: true });
    error = await refusal();
    expect(error.code).toBe('CEREMONY_KEY_REFUSED');
    expect(error.message).toMatch(/labelled "ocsp-sub-3" .*CKA_EXTRACTABLE, now or once/);

    const rows = await signers();
    expect(rows.map((r) => r.id)).not.toContain('ocsp-sub-3');
    const root3 = rows.find((r) => r.id === 'ocsp-root-3');
    expect(Buffer.from(parseCertificate(root3!.certificate).spki).equals(Buffer.from(adopted))).toBe(true);
    const audit = await bed.db.pool.query(
      "SELECT subject_id, after FROM audit_log WHERE action = 'issuer.key.refused' ORDER BY id",
    );
    expect(audit.rows.map((r) => [r.subject_id, r.after.keyLabel])).toEqual([
      ['ocsp-root-3', 'ocsp-root-3'],
      ['ocsp-sub-3', 'ocsp-sub-3'],
    ]);
  });
});

describe('key ceremony: OCSP signer renewal on its own', () => {
  let bed: CaTestBed;
  beforeAll(async () => {
    bed = await createCaTestBed();
  });
  afterAll(() => bed.close());
  const actor = { name: 'ca', role: 'key_ceremony' };
  const revoke = (id: string) => bed.revokeCeremonyCertificate(id);

  it('makes one fresh signer for a revoked one however many runs race for it, each on record', async () => {
    await revoke('ocsp-sub-1');
    const runs = await Promise.all([
      renewOcspSigners(bed.db.pool, bed.device, bed.config, { actor }),
      runKeyCeremony(bed.db.pool, bed.device, bed.config),
      renewOcspSigners(bed.db.pool, bed.device, bed.config, { actor }),
    ]);
    expect(runs.flatMap((r) => r.created)).toEqual(['ocsp-sub-2']);
    const { rows } = await bed.db.pool.query(
      "SELECT id FROM issuers WHERE kind = 'ocsp' ORDER BY created_at",
    );
    expect(rows.map((r) => r.id)).toEqual(['ocsp-root-1', 'ocsp-sub-1', 'ocsp-sub-2']);
    const audit = await bed.db.pool.query(
      "SELECT actor, actor_role FROM audit_log WHERE action = 'issuer.create' AND subject_id = 'ocsp-sub-2'",
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].actor_role).toBe('key_ceremony');
  });

  it('needs no more than one database connection', async () => {
    await revoke('ocsp-sub-2');
    const pool = await connectPool(bed.db.url, { max: 1 });
    try {
      const renewal = await renewOcspSigners(pool, bed.device, bed.config, { actor });
      expect(renewal).toEqual({ created: ['ocsp-sub-3'] });
    } finally {
      await pool.end();
    }
  });

  it('gives a suspended CA no new signer, and one once the suspension is lifted', async () => {
    const setStatus = (id: string, status: 'hold' | 'good') =>
      withTransaction(bed.db.pool, async (client) => {
        const { rows } = await client.query(
          'UPDATE certificates SET status = $2 WHERE request_id = $1 RETURNING issuer_id, serial',
          [`ceremony:${id}`, status],
        );
        await publishStatus(client, { issuerId: rows[0].issuer_id, serial: rows[0].serial, status });
      });
    await setStatus('sub', 'hold');
    await revoke('ocsp-sub-3');
    expect(await renewOcspSigners(bed.db.pool, bed.device, bed.config, { actor })).toEqual({ created: [] });
    await setStatus('sub', 'good');
    expect(await renewOcspSigners(bed.db.pool, bed.device, bed.config, { actor })).toEqual({
      created: ['ocsp-sub-4'],
    });
  });
});
