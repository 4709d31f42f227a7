import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusChannel } from './certificate-events.ts';
import { type CaTestBed, createCaTestBed } from './test-support/ca-test-bed.ts';

describe('CA revocation and suspension', () => {
  let bed: CaTestBed;
  let listener: pg.Client;
  const notices: Array<Record<string, string>> = [];

  beforeAll(async () => {
    bed = await createCaTestBed();
    listener = new pg.Client({ connectionString: bed.db.url });
    await listener.connect();
    listener.on('notification', (n) => notices.push(JSON.parse(n.payload ?? '{}')));
    await listener.query(`LISTEN ${statusChannel}`);
  });
  afterAll(async () => {
    await listener.end();
    await bed.close();
  });

  const issued = () => bed.issue('李四');
  const revoke = (issuerId: string, serial: string, reason: string, requestId?: string) =>
    bed.instruct('/v1/instructions/revoke', {
      operation: 'revoke',
      issuerId,
      serial,
      reason,
      ...(requestId ? { requestId } : {}),
    });

  it('revokes, records reason and time, writes the outbox and notifies listeners', async () => {
    const cert = await issued();
    const res = await revoke(cert.issuerId, cert.serial, 'keyCompromise');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ serial: cert.serial, status: 'revoked' });
    const row = await bed.db.pool.query(
      'SELECT status, revocation_reason, revoked_at FROM certificates WHERE serial = $1',
      [cert.serial],
    );
    expect(row.rows[0]).toMatchObject({ status: 'revoked', revocation_reason: 'keyCompromise' });
    const events = await bed.db.pool.query(
      'SELECT status FROM certificate_events WHERE serial = $1 ORDER BY id',
      [cert.serial],
    );
    expect(events.rows.map((r) => r.status)).toEqual(['good', 'revoked']);
    await expect
      .poll(() => notices.some((n) => n.serial === cert.serial && n.status === 'revoked'))
      .toBe(true);
    const audit = await bed.db.pool.query('SELECT action FROM audit_log WHERE subject_id = $1 ORDER BY id', [
      `${cert.issuerId}/${cert.serial}`,
    ]);
    expect(audit.rows.map((r) => r.action)).toEqual(['certificate.issue', 'certificate.revoke']);
  });

  it('suspends with certificateHold, then revokes for good; revoking twice is refused', async () => {
    const cert = await issued();
    expect((await revoke(cert.issuerId, cert.serial, 'certificateHold')).json().status).toBe('hold');
    expect((await revoke(cert.issuerId, cert.serial, 'certificateHold')).json().error.code).toBe(
      'CERTIFICATE_ALREADY_ON_HOLD',
    );
    expect((await revoke(cert.issuerId, cert.serial, 'superseded')).json().status).toBe('revoked');
    const again = await revoke(cert.issuerId, cert.serial, 'superseded');
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CERTIFICATE_ALREADY_REVOKED');
  });

  it('answers a repeated revocation request id with its first answer', async () => {
    const cert = await issued();
    const first = await revoke(cert.issuerId, cert.serial, 'superseded', 'revoke-request-01');
    const second = await revoke(cert.issuerId, cert.serial, 'superseded', 'revoke-request-01');
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual(first.json());
  });

  it('refuses unknown certificates and unknown reasons with stable codes', async () => {
    const unknown = await revoke('sub', 'abcdef0123456789', 'superseded');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('CERTIFICATE_UNKNOWN');
    const cert = await issued();
    const badReason = await revoke(cert.issuerId, cert.serial, 'becauseISaidSo');
    expect(badReason.statusCode).toBe(400);
    expect(badReason.json().error.code).toBe('INSTRUCTION_INVALID');
  });

  it('refuses to revoke the hierarchy’s own certificates on an RA instruction', async () => {
    const { rows } = await bed.db.pool.query(
      "SELECT issuer_id, serial, profile FROM certificates WHERE request_id LIKE 'ceremony:%' ORDER BY request_id",
    );
    // RA, KM, the CA's KM client and the audit key: device-sign each.
    expect(rows.map((r) => r.profile).sort()).toEqual([
      'device-sign',
      'device-sign',
      'device-sign',
      'device-sign',
      'ocsp-signer',
      'ocsp-signer',
      'root-ca',
      'sub-ca',
    ]);
    for (const row of rows) {
      const res = await revoke(row.issuer_id, row.serial, 'keyCompromise');
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().error.code).toBe('NOT_END_ENTITY');
    }
    const untouched = await bed.db.pool.query(
      "SELECT DISTINCT status FROM certificates WHERE request_id LIKE 'ceremony:%'",
    );
    expect(untouched.rows).toEqual([{ status: 'good' }]);
  });

  it('refuses invalidity dates that are no RFC 3339 time or lie ahead, and NUL characters', async () => {
    const cert = await issued();
    const revokeWith = (extra: Record<string, unknown>) =>
      bed.instruct('/v1/instructions/revoke', {
        operation: 'revoke',
        issuerId: cert.issuerId,
        serial: cert.serial,
        reason: 'keyCompromise',
        ...extra,
      });
    const ahead = new Date(Date.now() + 86_400_000).toISOString();
    for (const extra of [
      { invalidityDate: '2026-01-01Tgarbage' },
      { invalidityDate: '2026-02-30T00:00:00Z' },
      { invalidityDate: ahead },
      { issuerId: 'sub\u0000' },
      { reason: 'keyCompromise\u0000' },
    ]) {
      const res = await revokeWith(extra);
      expect(res.statusCode, JSON.stringify(extra)).toBe(400);
      expect(res.json().error.code).toBe('INSTRUCTION_INVALID');
    }
    const before = new Date(Date.now() - 3_600_000);
    const offset = before.toISOString().replace('Z', '+00:00');
    const res = await revokeWith({ invalidityDate: offset });
    expect(res.statusCode, res.body).toBe(200);
    const row = await bed.db.pool.query('SELECT invalidity_date FROM certificates WHERE serial = $1', [
      cert.serial,
    ]);
    expect(row.rows[0].invalidity_date).toEqual(before);
  });
});
