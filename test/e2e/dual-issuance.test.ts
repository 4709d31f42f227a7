import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSm2Spki, encodeSm2Spki } from '@sm2ca/gm';
import { buildKmApp, ensureKmMasterKey } from '@sm2ca/km';
import {
  buildCsr,
  type DnAttribute,
  decodeKeyUsage,
  derToPem,
  lintCertificate,
  OIDS,
  parseCertificate,
} from '@sm2ca/pki';
import { createLogger, type HttpServer, KmClient, kmUrl } from '@sm2ca/platform';
import smCrypto from 'sm-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaTestBed, createCaTestBed } from '../../services/ca/src/test-support/ca-test-bed.ts';
import { openEnvelopedKey } from '../support/open-enveloped-key.ts';
import { gmDistId, openssl, tempDir } from '../support/openssl-cli.ts';
import { SmCryptoSigner } from '../support/sm-crypto-signer.ts';

const subject: DnAttribute[] = [
  { type: 'C', value: 'CN' },
  { type: 'CN', value: '张三' },
];
/** The public point (04‖X‖Y) of a certificate, as hex. */
const pointOf = (certificate: Uint8Array | string) =>
  Buffer.from(
    decodeSm2Spki(
      parseCertificate(typeof certificate === 'string' ? Buffer.from(certificate, 'base64') : certificate)
        .spki,
    ),
  ).toString('hex');

const holder = {
  holderKey: 'resident-id:11010519491231002X',
  identity: { residentId: '11010519491231002X' },
};

/**
 * The CA's half of dual certificates against a real KM: both services in this process over
 * one database and one device, the KM on real HTTP at the port the CA is configured with,
 * stopped and started again to be away. The holder's key is a software one (sm-crypto), so
 * the test can open the enveloped key as the holder would.
 */
describe('dual issuance: CA and KM', () => {
  let bed: CaTestBed;
  let km: HttpServer | undefined;

  const startKm = async () => {
    km = await buildKmApp(
      {
        config: bed.config,
        log: createLogger('km', { level: 'silent' }),
        db: { pool: bed.db.pool, url: bed.db.url, close: async () => {} },
        device: bed.device,
      },
      { leaderRetryMs: 200 },
    );
    await km.listen({ host: '127.0.0.1', port: bed.config.services.km.port });
  };
  const stopKm = async () => {
    await km?.close();
    km = undefined;
  };

  beforeAll(async () => {
    bed = await createCaTestBed(
      { SM2CA_KM_POOL_SIZE: '6', SM2CA_KM_POOL_LOW_WATER: '2' },
      { kmKeyRevocations: true },
    );
    await ensureKmMasterKey(bed.db.pool, bed.device, { name: 'cli', role: 'key_ceremony' });
    await startKm();
  }, 120_000);
  afterAll(async () => {
    await stopKm();
    await bed?.close();
  });

  /** A holder's signature key pair made outside the CA, and its CSR. */
  const holderKey = async () => {
    const pair = smCrypto.sm2.generateKeyPairHex();
    const csr = await buildCsr(
      { subject, publicKey: Buffer.from(pair.publicKey, 'hex') },
      new SmCryptoSigner(pair.privateKey, pair.publicKey),
    );
    return { ...pair, csr: Buffer.from(csr).toString('base64') };
  };
  const issue = (csr: string, requestId = randomUUID(), extra: Record<string, unknown> = {}) =>
    bed.instruct('/v1/instructions/issue', {
      operation: 'issue',
      profile: 'person-sign',
      csr,
      subject,
      requestId,
      ...holder,
      encryption: { profile: 'person-encrypt' },
      ...extra,
    });
  const revoke = (issuerId: string, serial: string, reason = 'keyCompromise') =>
    bed.instruct('/v1/instructions/revoke', { operation: 'revoke', issuerId, serial, reason });
  const escrowState = async (serial: string) =>
    (await bed.db.pool.query('SELECT state FROM km_keys WHERE user_cert_no = $1', [serial])).rows[0]?.state;

  it("issues both certificates, the encryption one for the KM's key, its private key enveloped to the holder", async () => {
    const key = await holderKey();
    const res = await issue(key.csr);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const signature = parseCertificate(Buffer.from(body.certificate, 'base64'));
    const encryptionDer = Buffer.from(body.encryption.certificate, 'base64');
    const encryption = parseCertificate(encryptionDer);
    expect(pointOf(body.certificate)).toBe(key.publicKey);
    expect(Buffer.from(encryption.serialNumber).toString('hex')).toBe(body.encryption.serial);
    expect(encryption.subject).toEqual(signature.subject);
    expect([encryption.notBefore, encryption.notAfter]).toEqual([signature.notBefore, signature.notAfter]);
    const keyUsage = encryption.extensions.find((e) => e.oid === OIDS.keyUsage)!;
    expect(keyUsage.critical).toBe(true);
    expect([...decodeKeyUsage(keyUsage.value)].sort()).toEqual([
      'dataEncipherment',
      'keyAgreement',
      'keyEncipherment',
    ]);
    const findings = await lintCertificate(encryptionDer, {
      issuer: Buffer.from(body.chain[0], 'base64'),
      profile: 'person-encrypt',
      verifier: bed.device,
    });
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);

    const escrow = await bed.db.pool.query(
      "SELECT state, public_key FROM km_keys WHERE ca_name = 'sub' AND user_cert_no = $1",
      [body.encryption.serial],
    );
    expect(escrow.rows[0].state).toBe('current');
    const escrowed = Buffer.from(decodeSm2Spki(escrow.rows[0].public_key)).toString('hex');
    expect(pointOf(encryptionDer)).toBe(escrowed);

    const opened = openEnvelopedKey(Buffer.from(body.encryption.envelopedKey, 'base64'), key.privateKey);
    expect(opened.publicKeyHex).toBe(escrowed);

    const dir = tempDir('dual-openssl-');
    try {
      const pem = (b64: string) => derToPem(Buffer.from(b64, 'base64'), 'CERTIFICATE');
      writeFileSync(join(dir, 'enc.pem'), pem(body.encryption.certificate));
      writeFileSync(join(dir, 'sub.pem'), pem(body.chain[0]));
      const verified = openssl(
        ['verify', '-vfyopt', gmDistId, '-partial_chain', '-CAfile', 'sub.pem', 'enc.pem'],
        dir,
      ).toString();
      expect(verified).toContain('enc.pem: OK');
      const usage = openssl(['x509', '-in', 'enc.pem', '-noout', '-ext', 'keyUsage'], dir).toString();
      expect(usage).toContain('critical');
      expect(usage).toContain('Key Encipherment, Data Encipherment, Key Agreement');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers the same request id with the same pair and the same key', async () => {
    const key = await holderKey();
    const requestId = randomUUID();
    const first = await issue(key.csr, requestId);
    expect(first.statusCode, first.body).toBe(200);
    const second = await issue(key.csr, requestId);
    expect(second.json()).toEqual(first.json());
    const certificates = await bed.db.pool.query(
      'SELECT count(*)::int AS n FROM certificates WHERE request_id = $1',
      [requestId],
    );
    expect(certificates.rows[0].n).toBe(2);
  });

  it('answers concurrent twins of one dual request with one pair', async () => {
    const key = await holderKey();
    const requestId = randomUUID();
    const answers = await Promise.all([1, 2, 3].map(() => issue(key.csr, requestId)));
    expect(
      answers.map((a) => a.statusCode),
      answers.map((a) => a.body).join('\n'),
    ).toEqual([200, 200, 200]);
    expect(answers[1]!.json()).toEqual(answers[0]!.json());
    expect(answers[2]!.json()).toEqual(answers[0]!.json());
    const escrows = await bed.db.pool.query(
      'SELECT count(*)::int AS n FROM km_keys WHERE taken_task_no = $1',
      [requestId],
    );
    expect(escrows.rows[0].n).toBe(1);
  });

  it('answers 503 while the KM is away, and the retry completes the pair with the same serials', async () => {
    const key = await holderKey();
    const requestId = randomUUID();
    await stopKm();
    try {
      const away = await issue(key.csr, requestId);
      expect(away.statusCode, away.body).toBe(503);
      expect(away.json().error.code).toBe('KM_UNAVAILABLE');
    } finally {
      await startKm();
    }
    const planned = await bed.db.pool.query(
      `SELECT r.serial, k.serial AS encryption_serial, k.not_before, k.not_after
         FROM ca_requests r JOIN km_certificates k USING (request_id) WHERE request_id = $1`,
      [requestId],
    );
    const plan = planned.rows[0];
    // The CA's call reaching the KM with its answer lost on the way back: the same task again.
    const lost = await new KmClient({
      url: kmUrl(bed.config),
      caller: bed.device.signer('ca-km'),
      pool: bed.db.pool,
      verifier: bed.device,
    }).applyKey(requestId, 'sub', {
      userCertNo: plan.encryption_serial,
      userPublicKey: encodeSm2Spki(Buffer.from(key.publicKey, 'hex')),
      notBefore: plan.not_before,
      notAfter: plan.not_after,
    });
    const retried = await issue(key.csr, requestId);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({
      serial: plan.serial,
      encryption: { serial: plan.encryption_serial },
    });
    expect(pointOf(retried.json().encryption.certificate)).toBe(
      Buffer.from(decodeSm2Spki(lost.publicKey)).toString('hex'),
    );
    const opened = openEnvelopedKey(
      Buffer.from(retried.json().encryption.envelopedKey, 'base64'),
      key.privateKey,
    );
    expect(opened.publicKeyHex).toBe(pointOf(retried.json().encryption.certificate));
  });

  it('tells the KM when an encryption certificate is revoked, not when it is suspended', async () => {
    const { issuerId, serial, encryption } = (await issue((await holderKey()).csr)).json();
    expect((await revoke(issuerId, encryption.serial, 'certificateHold')).statusCode).toBe(200);
    expect((await revoke(issuerId, serial)).statusCode).toBe(200);
    const owed = await bed.db.pool.query('SELECT serial FROM km_key_revocations WHERE serial = ANY($1)', [
      [serial, encryption.serial],
    ]);
    expect(owed.rows).toEqual([]);
    expect(await escrowState(encryption.serial)).toBe('current');

    expect((await revoke(issuerId, encryption.serial)).statusCode).toBe(200);
    await expect.poll(() => escrowState(encryption.serial), { timeout: 10_000 }).toBe('revoked');
    // The KM's confirmation comes before the CA marks the revocation sent.
    const done = async () =>
      (
        await bed.db.pool.query(
          'SELECT done_at IS NOT NULL AS done FROM km_key_revocations WHERE serial = $1',
          [encryption.serial],
        )
      ).rows;
    await expect.poll(done).toEqual([{ done: true }]);
    const audit = await bed.db.pool.query(
      "SELECT actor, actor_role FROM audit_log WHERE action = 'km.key_revoke' AND subject_id = $1",
      [`${issuerId}/${encryption.serial}`],
    );
    expect(audit.rows).toEqual([{ actor: 'ca', actor_role: 'km_client' }]);
  });

  it('tells the KM of a revocation made while it was away once it is back', async () => {
    const { issuerId, encryption } = (await issue((await holderKey()).csr)).json();
    await stopKm();
    try {
      expect((await revoke(issuerId, encryption.serial)).statusCode).toBe(200);
      const attempts = async () =>
        (
          await bed.db.pool.query('SELECT attempts, last_error FROM km_key_revocations WHERE serial = $1', [
            encryption.serial,
          ])
        ).rows[0];
      await expect.poll(async () => (await attempts())?.attempts, { timeout: 10_000 }).toBeGreaterThan(0);
      expect((await attempts()).last_error.code).toBe('KM_UNAVAILABLE');
      expect(await escrowState(encryption.serial)).toBe('current');
    } finally {
      await startKm();
    }
    await expect.poll(() => escrowState(encryption.serial), { timeout: 15_000 }).toBe('revoked');
  });

  // Last: the CA's KM key stays revoked.
  it("answers 502 KM_REFUSED when the KM refuses, here the CA's revoked KM-client key", async () => {
    await bed.revokeCeremonyCertificate('ca-km');
    const res = await issue((await holderKey()).csr);
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json().error).toMatchObject({ code: 'KM_REFUSED', details: { kmCode: 'CALLER_REVOKED' } });
  });
});
