import { createLogger, KmClient, kmUrl } from '@sm2ca/platform';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmKeyRevocations, kmKeyRevocationChannel } from './km-key-revocations.ts';
import { type CaTestBed, createCaTestBed } from './test-support/ca-test-bed.ts';

/**
 * The CA's side of key revocation with no KM to answer (its port is closed): what is owed is
 * written with the revocation and kept, whatever happens to the sending. The round trip to a
 * real KM is in test/e2e/dual-issuance.test.ts.
 */
describe('CA key revocations owed to the KM', () => {
  let bed: CaTestBed;
  let listener: pg.Client;
  const notices: string[] = [];

  beforeAll(async () => {
    bed = await createCaTestBed();
    listener = new pg.Client({ connectionString: bed.db.url });
    await listener.connect();
    listener.on('notification', (n) => notices.push(n.payload ?? ''));
    await listener.query(`LISTEN ${kmKeyRevocationChannel}`);
  });
  afterAll(async () => {
    await listener.end();
    await bed.close();
  });

  /** An issued certificate recorded as if the KM escrowed its key, as a dual issue records it. */
  const escrowed = async (commonName: string) => {
    const cert = await bed.issue(commonName);
    await bed.db.pool.query(
      `INSERT INTO km_certificates (request_id, issuer_id, serial, profile, not_before, not_after, enveloped_key)
       SELECT request_id, issuer_id, serial, 'person-encrypt', not_before, not_after, '\\x00'
         FROM certificates WHERE issuer_id = $1 AND serial = $2`,
      [cert.issuerId, cert.serial],
    );
    return cert;
  };
  const revoke = (issuerId: string, serial: string, reason: string) =>
    bed.instruct('/v1/instructions/revoke', { operation: 'revoke', issuerId, serial, reason });
  const owed = async (serial: string) =>
    (
      await bed.db.pool.query(
        'SELECT attempts, last_error, next_attempt_at, done_at FROM km_key_revocations WHERE serial = $1',
        [serial],
      )
    ).rows;

  it('owes the KM a revocation for an escrowed key only, and not for a suspension', async () => {
    const plain = await bed.issue('赵六');
    expect((await revoke(plain.issuerId, plain.serial, 'keyCompromise')).statusCode).toBe(200);
    expect(await owed(plain.serial)).toEqual([]);

    const cert = await escrowed('王五');
    expect((await revoke(cert.issuerId, cert.serial, 'certificateHold')).statusCode).toBe(200);
    expect(await owed(cert.serial)).toEqual([]);
    expect((await revoke(cert.issuerId, cert.serial, 'keyCompromise')).statusCode).toBe(200);
    expect(await owed(cert.serial)).toMatchObject([{ attempts: 0, done_at: null }]);
    await expect.poll(() => notices).toContain(`${cert.issuerId}/${cert.serial}`);
  });

  it('keeps what is owed while the KM is away, backing off, on record, for whichever replica leads next', async () => {
    const cert = await escrowed('孙七');
    expect((await revoke(cert.issuerId, cert.serial, 'keyCompromise')).statusCode).toBe(200);
    const sender = () =>
      new KmKeyRevocations({
        pool: bed.db.pool,
        url: bed.db.url,
        km: new KmClient({
          url: kmUrl(bed.config),
          caller: bed.device.signer('ca-km'),
          pool: bed.db.pool,
          verifier: bed.device,
        }),
        log: createLogger('ca', { level: 'silent' }),
        leaderRetryMs: 200,
        firstRetryMs: 60_000,
      });
    const first = sender();
    await first.start();
    try {
      await expect.poll(async () => (await owed(cert.serial))[0].attempts).toBe(1);
    } finally {
      await first.stop();
    }
    const [row] = await owed(cert.serial);
    expect(row.last_error.code).toBe('KM_UNAVAILABLE');
    expect(row.done_at).toBeNull();
    expect(row.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 50_000);
    const audit = await bed.db.pool.query(
      "SELECT actor, actor_role, after FROM audit_log WHERE action = 'km.key_revoke_fail' AND subject_id = $1",
      [`${cert.issuerId}/${cert.serial}`],
    );
    expect(audit.rows).toMatchObject([
      { actor: 'ca', actor_role: 'km_client', after: { attempt: 1, error: { code: 'KM_UNAVAILABLE' } } },
    ]);

    // Due again: the next leader (a restarted CA) sends it.
    await bed.db.pool.query('UPDATE km_key_revocations SET next_attempt_at = now() WHERE serial = $1', [
      cert.serial,
    ]);
    const next = sender();
    await next.start();
    try {
      await expect.poll(async () => (await owed(cert.serial))[0].attempts).toBe(2);
    } finally {
      await next.stop();
    }
    expect((await owed(cert.serial))[0].done_at).toBeNull();
  });
});
