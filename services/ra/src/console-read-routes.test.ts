import { describe, expect, it } from 'vitest';
import { issuingCaId, useRaTestBed } from './test-support/ra-test-bed.ts';

describe('the console reads', () => {
  const bed = useRaTestBed();

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
});
