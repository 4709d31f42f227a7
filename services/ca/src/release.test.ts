import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaTestBed, createCaTestBed } from './test-support/ca-test-bed.ts';

describe('CA release from hold', () => {
  let bed: CaTestBed;

  beforeAll(async () => {
    bed = await createCaTestBed();
  });
  afterAll(async () => {
    await bed.close();
  });

  const instruct = (path: string, body: Record<string, unknown>) => bed.instruct(path, body);
  const hold = (issuerId: string, serial: string, reason = 'certificateHold') =>
    instruct('/v1/instructions/revoke', { operation: 'revoke', issuerId, serial, reason });
  const release = (issuerId: string, serial: string, requestId?: string) =>
    instruct('/v1/instructions/release', {
      operation: 'release',
      issuerId,
      serial,
      ...(requestId ? { requestId } : {}),
    });
  const state = async (serial: string) =>
    (
      await bed.db.pool.query(
        'SELECT status, revoked_at, revocation_reason FROM certificates WHERE serial = $1',
        [serial],
      )
    ).rows[0];

  it('makes a suspended certificate good again, with a status event, an audit record and one answer per request id', async () => {
    const cert = await bed.issue('王五');
    expect((await hold(cert.issuerId, cert.serial)).json().status).toBe('hold');
    const requestId = randomUUID();
    const res = await release(cert.issuerId, cert.serial, requestId);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ serial: cert.serial, status: 'good' });
    expect(await state(cert.serial)).toEqual({ status: 'good', revoked_at: null, revocation_reason: null });
    const again = await release(cert.issuerId, cert.serial, requestId);
    expect(again.json()).toEqual(res.json());
    const events = await bed.db.pool.query(
      'SELECT status FROM certificate_events WHERE serial = $1 ORDER BY id',
      [cert.serial],
    );
    expect(events.rows.map((r) => r.status)).toEqual(['good', 'hold', 'good']);
    const audit = await bed.db.pool.query('SELECT action FROM audit_log WHERE subject_id = $1 ORDER BY id', [
      `${cert.issuerId}/${cert.serial}`,
    ]);
    expect(audit.rows.map((r) => r.action)).toEqual([
      'certificate.issue',
      'certificate.suspend',
      'certificate.release',
    ]);
  });

  it('refuses a certificate that is good, revoked or unknown, and changes nothing', async () => {
    const cert = await bed.issue('赵六');
    const good = await release(cert.issuerId, cert.serial);
    expect(good.statusCode).toBe(409);
    expect(good.json().error.code).toBe('CERTIFICATE_NOT_ON_HOLD');
    await hold(cert.issuerId, cert.serial);
    await hold(cert.issuerId, cert.serial, 'keyCompromise');
    const revoked = await release(cert.issuerId, cert.serial);
    expect(revoked.statusCode).toBe(409);
    expect(revoked.json().error.code).toBe('CERTIFICATE_ALREADY_REVOKED');
    expect(await state(cert.serial)).toMatchObject({ status: 'revoked', revocation_reason: 'keyCompromise' });
    const unknown = await release(cert.issuerId, 'abcdef0123');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('CERTIFICATE_UNKNOWN');
    const malformed = await instruct('/v1/instructions/release', {
      operation: 'release',
      issuerId: cert.issuerId,
      serial: 'xyz',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('INSTRUCTION_INVALID');
  });
});
