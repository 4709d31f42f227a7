import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/support/test-database.ts';
import { backoffSeconds, markFailed, markPublished, outboxStatus, pendingItems } from './directory-outbox.ts';

describe('directory outbox back-off', () => {
  it('doubles from one second up to the configured longest wait', () => {
    expect([0, 1, 2, 3, 8, 9, 40].map((n) => backoffSeconds(n, 300))).toEqual([1, 2, 4, 8, 256, 300, 300]);
  });
});

/** The triggers of migration 0014 on bare rows: what gets queued, in the change's own transaction. */
describe('directory outbox triggers', () => {
  const db = useTestDatabase();
  let serials = 0;

  const setUp = async () => {
    await db.pool.query(
      `INSERT INTO issuers (id, kind, key_label, subject, certificate, subject_key_id, not_after)
       VALUES ('t-root', 'root', 't-root', 'C=CN, CN=Root', '\\x30', '\\x01', now() + interval '1 year'),
              ('t-ra', 'ra', 't-ra', 'C=CN, CN=RA', '\\x30', '\\x02', now() + interval '1 year')`,
    );
    const { rows } = await db.pool.query(
      `INSERT INTO operators (name, identity, credential_digest) VALUES ('clerk', 'staff-clerk', '\\x01') RETURNING id`,
    );
    return rows[0].id as string;
  };
  const certificate = async (subject: string) => {
    const serial = (++serials).toString(16).padStart(4, '0');
    await db.pool.query(
      `INSERT INTO certificates (issuer_id, serial, status, profile, subject, tbs, der, not_before, not_after, request_id)
       VALUES ('t-root', $1, 'good', 'person-sign', $2, '\\x30', '\\x30', now(), now() + interval '1 year', $1)`,
      [serial, subject],
    );
    return serial;
  };
  const application = async (clerk: string, serial: string, consent: boolean) => {
    const { rows } = await db.pool.query(
      `INSERT INTO applications (status, holder_type, holder, holder_key, profile, csr, publish_consent,
                                 entered_by, deadline, deadline_provisional, template_version)
       VALUES ('approved', 'person', '{}', $1, 'person-sign', '\\x00', $2, $3, now() + interval '1 day', false, 1)
       RETURNING id`,
      [`k${serial}`, consent, clerk],
    );
    await db.pool.query(
      "UPDATE applications SET status = 'issued', issuer_id = 't-root', serial = $2, issued_at = now() WHERE id = $1",
      [rows[0].id, serial],
    );
  };
  const setStatus = (serial: string, status: string) =>
    db.pool.query("UPDATE certificates SET status = $2 WHERE issuer_id = 't-root' AND serial = $1", [
      serial,
      status,
    ]);

  it('queues CA certificates, consented issuances, their status changes and CRLs, in commit order', async () => {
    const clerk = await setUp();
    const consented = await certificate('C=CN, CN=甲');
    const refused = await certificate('C=CN, CN=乙');
    await application(clerk, consented, true);
    await application(clerk, refused, false);
    await setStatus(consented, 'hold');
    await setStatus(consented, 'good');
    await setStatus(refused, 'revoked');
    await db.pool.query(
      `INSERT INTO crls (issuer_id, crl_number, kind, this_update, next_update, entry_count, der, sm3, publisher)
       VALUES ('t-root', 1, 'full', now(), now() + interval '1 hour', 0, '\\x30', decode(repeat('00', 32), 'hex'), 't')`,
    );
    const items = await pendingItems(db.pool, 100);
    expect(items.map((i) => [i.kind, i.serial ?? i.crlNumber ?? i.issuerId, i.entryKey])).toEqual([
      ['ca_certificate', 't-root', 'ca:t-root'],
      ['certificate', consented, 'holder:C=CN, CN=甲'],
      ['certificate', consented, 'holder:C=CN, CN=甲'],
      ['certificate', consented, 'holder:C=CN, CN=甲'],
      ['crl', '1', 'ca:t-root'],
    ]);
    expect(items.map((i) => i.certificate?.listed)).toEqual([undefined, true, true, true, undefined]);
    expect(items.every((i) => i.due)).toBe(true);
  });

  it('shows depth and the oldest item; a failure postpones it and a publication clears it', async () => {
    const [first, ...rest] = await pendingItems(db.pool, 100);
    await markFailed(db.pool, first!, 'connect ECONNREFUSED 127.0.0.1:389', 60);
    let status = await outboxStatus(db.pool);
    expect(status).toMatchObject({
      pending: 5,
      failing: 1,
      oldestPending: { id: first!.id, attempts: 1, lastError: 'connect ECONNREFUSED 127.0.0.1:389' },
    });
    expect((await pendingItems(db.pool, 1))[0]!.due).toBe(false);
    await markPublished(db.pool, [first!.id, ...rest.map((i) => i.id)]);
    status = await outboxStatus(db.pool);
    expect(status).toMatchObject({ pending: 0, failing: 0 });
    expect(status.oldestPending).toBeUndefined();
    expect(status.lastPublishedAt).toBeDefined();
  });
});
