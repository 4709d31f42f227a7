import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCsr, spkiSha256 } from '@sm2ca/pki';
import { migrationsDir } from '@sm2ca/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaTestBed, createCaTestBed } from './test-support/ca-test-bed.ts';

const subject = [
  { type: 'C', value: 'CN' },
  { type: 'CN', value: '张三' },
];
const holderA = {
  holderKey: 'resident-id:11010519491231002X',
  identity: { residentId: '11010519491231002X' },
};
const holderB = {
  holderKey: 'resident-id:110101198001010010',
  identity: { residentId: '110101198001010010' },
};

describe('CA key reuse', () => {
  let bed: CaTestBed;
  beforeAll(async () => {
    // Encryption certificates on keys the holder brought, to see the key reuse they would be.
    bed = await createCaTestBed({ SM2CA_ALLOW_HOLDER_ENCRYPTION_KEYS: 'true' });
  });
  afterAll(() => bed.close());

  const issue = (csr: string, holder: typeof holderA, profile = 'person-sign', requestId = randomUUID()) =>
    bed.instruct('/v1/instructions/issue', {
      operation: 'issue',
      profile,
      csr,
      subject,
      requestId,
      ...holder,
    });

  const ledgerRows = async (requestId: string) =>
    (await bed.db.pool.query('SELECT 1 FROM ca_requests WHERE request_id = $1', [requestId])).rowCount;

  it('renews a key for its holder, refuses it to another and writes nothing for the refusal', async () => {
    const csr = await bed.holderCsr();
    const firstId = randomUUID();
    const first = await issue(csr, holderA, 'person-sign', firstId);
    expect(first.statusCode, first.body).toBe(200);
    const renewed = await issue(csr, holderA);
    expect(renewed.statusCode, renewed.body).toBe(200);
    expect(renewed.json().serial).not.toBe(first.json().serial);
    expect((await issue(csr, holderA, 'person-sign', firstId)).json()).toEqual(first.json());
    const requestId = randomUUID();
    const res = await issue(csr, holderB, 'person-sign', requestId);
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error).toMatchObject({
      code: 'KEY_REUSED',
      details: { reason: 'another-holder', certifiedPurpose: 'signature' },
    });
    expect(res.body).not.toContain(holderA.identity.residentId);
    expect(await ledgerRows(requestId)).toBe(0);
  });

  it('refuses a signature key in an encryption certificate, even for its own holder', async () => {
    const csr = await bed.holderCsr();
    expect((await issue(csr, holderA)).statusCode).toBe(200);
    const res = await issue(csr, holderA, 'person-encrypt');
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error).toMatchObject({
      code: 'KEY_REUSED',
      details: { reason: 'another-purpose', certifiedPurpose: 'signature', requestedPurpose: 'encryption' },
    });
  });

  it('binds a key without a holder key to its subject name', async () => {
    const csr = await bed.holderCsr();
    const anonymous = { operation: 'issue', profile: 'person-sign', csr, subject };
    expect((await bed.instruct('/v1/instructions/issue', anonymous)).statusCode).toBe(200);
    expect((await bed.instruct('/v1/instructions/issue', anonymous)).statusCode).toBe(200);
    const other = await bed.instruct('/v1/instructions/issue', {
      ...anonymous,
      subject: [subject[0], { type: 'CN', value: '李四' }],
    });
    expect(other.json().error.code).toBe('KEY_REUSED');
  });

  it('never certifies a key again once a certificate of it was revoked for keyCompromise, and writes nothing', async () => {
    const csr = await bed.holderCsr();
    const first = (await issue(csr, holderA)).json();
    const revoked = await bed.instruct('/v1/instructions/revoke', {
      operation: 'revoke',
      issuerId: first.issuerId,
      serial: first.serial,
      reason: 'keyCompromise',
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    const requestId = randomUUID();
    const again = await issue(csr, holderA, 'person-sign', requestId);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('KEY_COMPROMISED');
    expect(await ledgerRows(requestId)).toBe(0);
  });

  it('lets exactly one of several holders issuing one key at once have it', async () => {
    const csr = await bed.holderCsr();
    const holders = ['a', 'b', 'c', 'd'].map((n) => `device:host-${n}.example.cn`);
    const requestIds = holders.map(() => randomUUID());
    const answers = await Promise.all(
      holders.map((holderKey, i) =>
        bed.instruct('/v1/instructions/issue', {
          operation: 'issue',
          profile: 'device-sign',
          csr,
          subject: [...subject, { type: 'O', value: 'Test' }],
          requestId: requestIds[i],
          holderKey,
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409, 409, 409]);
    const certificates = await bed.db.pool.query(
      'SELECT count(*)::int AS n FROM certificates WHERE request_id = ANY($1)',
      [requestIds],
    );
    expect(certificates.rows[0].n).toBe(1);
  });

  it('backfills the keys certified before the migration, the first holder of a shared key keeping it', async () => {
    const signCsr = await bed.holderCsr();
    const encryptCsr = await bed.holderCsr();
    const signed = (await issue(signCsr, holderA)).json();
    const encrypted = (await issue(encryptCsr, holderA, 'person-encrypt')).json();
    // The incident this migration answers: the signature key also certified to another holder, later.
    await bed.db.pool.query(
      `INSERT INTO certificates (issuer_id, serial, status, profile, subject, holder_key, tbs, der, not_before,
                                 not_after, request_id, planned_at, issued_at)
       SELECT issuer_id, 'ab' || serial, status, profile, subject, $2, tbs, der, not_before, not_after,
              'incident', planned_at + interval '1 day', issued_at
         FROM certificates WHERE serial = $1`,
      [signed.serial, holderB.holderKey],
    );
    const migration = await readFile(join(migrationsDir, '0007_key_reuse.sql'), 'utf8');
    await bed.db.pool.query(`DROP TABLE certified_keys; ${migration}`);

    const binding = async (csr: string) => {
      const digest = spkiSha256(parseCsr(Buffer.from(csr, 'base64')).publicKey);
      const { rows } = await bed.db.pool.query(
        'SELECT holder, purpose, first_serial FROM certified_keys WHERE spki_sha256 = $1',
        [digest],
      );
      return rows[0];
    };
    expect(await binding(signCsr)).toEqual({
      holder: holderA.holderKey,
      purpose: 'signature',
      first_serial: signed.serial,
    });
    expect(await binding(encryptCsr)).toEqual({
      holder: holderA.holderKey,
      purpose: 'encryption',
      first_serial: encrypted.serial,
    });
    const ceremony = await bed.db.pool.query(
      "SELECT count(*)::int AS n FROM certified_keys k JOIN certificates c ON c.serial = k.first_serial WHERE c.request_id LIKE 'ceremony:%'",
    );
    expect(ceremony.rows[0].n).toBe(0);
    expect((await issue(signCsr, holderB)).json().error.code).toBe('KEY_REUSED');
  });
});
