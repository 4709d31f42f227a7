import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/openssl-cli.ts';
import { enrolledOperator } from './test-support/operator-login.ts';
import { issuingCaId, useRaTestBed } from './test-support/ra-test-bed.ts';

describe('the console reads', () => {
  const bed = useRaTestBed();
  const dir = tempDir('ra-console-read-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers the newest CRL of each issuer with its age, to evidence readers only', async () => {
    for (const [number, hoursAgo] of [
      [1, 26],
      [2, 2],
    ] as const) {
      await bed.pool.query(
        `INSERT INTO crls (issuer_id, crl_number, kind, this_update, next_update, entry_count, der, sm3, publisher)
         VALUES ($1, $2, 'full', now() - make_interval(hours => $3), now() - make_interval(hours => $3) + interval '24 hours',
                 0, '\\x30'::bytea, decode(repeat('00', 32), 'hex'), 'test')`,
        [issuingCaId, number, hoursAgo],
      );
    }
    const answer = await bed.call('admin', 'GET', '/v1/evidence/crls/latest');
    expect(answer.statusCode).toBe(200);
    const [latest, ...rest] = answer.json().items;
    expect(rest).toEqual([]);
    expect(latest).toMatchObject({ issuerId: issuingCaId, kind: 'full', crlNumber: '2', late: false });
    expect(latest.ageSeconds).toBeGreaterThan(2 * 3600 - 60);
    expect(latest.ageSeconds).toBeLessThan(2 * 3600 + 600);
    expect((await bed.call('clerk', 'GET', '/v1/evidence/crls/latest')).statusCode).toBe(403);
  });

  it('lists operator-certificate applications to super admins, and to nobody else', async () => {
    const answer = await bed.call('superAdmin', 'GET', '/v1/admin/operator-certificates/applications');
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ items: [] });
    const refused = await bed.call('reviewer', 'GET', '/v1/admin/operator-certificates/applications');
    expect(refused.statusCode).toBe(403);
    const { rows } = await bed.pool.query(
      `SELECT 1 FROM audit_log WHERE action LIKE '%.refuse' AND after->>'route' = $1`,
      ['GET /v1/admin/operator-certificates/applications'],
    );
    expect(rows.length).toBeGreaterThan(0);
  });

  it("lists the freezes and revocations of operators' own certificates waiting for a super admin, on record", async () => {
    const operator = await enrolledOperator(bed, dir);
    const route = '/v1/admin/operator-certificates/revocations';
    const freeze = await bed.call('clerk', 'POST', '/v1/freezes', {
      issuerId: issuingCaId,
      serial: operator.serial,
      requestedBy: operator.name,
    });
    expect(freeze.statusCode, freeze.body).toBe(201);
    const answer = await bed.call('superAdmin', 'GET', route);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json().items).toEqual([
      expect.objectContaining({
        id: freeze.json().id,
        kind: 'revoke',
        reason: 'certificateHold',
        status: 'submitted',
        serial: operator.serial,
        enteredBy: 'op-clerk',
        operatorId: operator.id,
        operator: operator.name,
      }),
    ]);
    expect(answer.json().items[0]).not.toHaveProperty('holderKey');
    const read = await bed.pool.query(
      `SELECT actor, after FROM audit_log WHERE action = 'holder.read' AND after->>'route' = $1`,
      [`GET ${route}`],
    );
    expect(read.rows).toEqual([
      { actor: 'op-superAdmin', after: { route: `GET ${route}`, ids: [freeze.json().id] } },
    ]);

    const refused = await bed.call('reviewer', 'GET', route);
    expect(refused.statusCode).toBe(403);
    const audited = await bed.pool.query(
      `SELECT 1 FROM audit_log WHERE action LIKE '%.refuse' AND after->>'route' = $1`,
      [`GET ${route}`],
    );
    expect(audited.rows.length).toBe(1);

    // Decided, it waits for nobody.
    const decided = await bed.call(
      'superAdmin',
      'POST',
      `/v1/admin/operator-certificates/revocations/${freeze.json().id}/review`,
      { decision: 'approve' },
    );
    expect(decided.statusCode, decided.body).toBe(200);
    expect((await bed.call('superAdmin', 'GET', route)).json()).toEqual({ items: [] });
  });
});
