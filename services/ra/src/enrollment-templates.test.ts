import { type TemplateBody, templateOfProfile } from '@sm2ca/pki';
import { describe, expect, it } from 'vitest';
import { useRaTestBed } from './test-support/ra-test-bed.ts';

const route = '/v1/enrollment/templates';

describe('the templates an application may name', () => {
  const bed = useRaTestBed();

  const staff = (validityDays: number): TemplateBody => ({
    ...templateOfProfile('person-sign', ['person']),
    kind: 'person-sign',
    description: 'Signature certificate of tax bureau staff',
    validityDays,
  });
  /** A draft by one business admin, decided as if by another: the test bed has one of that role. */
  const drafted = async (name: string, body: TemplateBody, status?: 'approved' | 'rejected') => {
    const answer = await bed.call('admin', 'POST', `/v1/admin/templates/${name}/versions`, body);
    expect(answer.statusCode, answer.body).toBe(201);
    if (status) {
      await bed.pool.query(
        `UPDATE certificate_templates SET status = $3, decided_by = $4, decided_at = now()
          WHERE name = $1 AND version = $2`,
        [name, answer.json().version, status, bed.ids.superAdmin],
      );
    }
  };

  it('lists the newest approved version of each, seeded first within a kind, to entry clerks only', async () => {
    await drafted('tax-bureau-staff', staff(365), 'approved');
    await drafted('tax-bureau-staff', staff(400), 'approved');
    await drafted('tax-bureau-staff', staff(200));
    await drafted('customs-staff', staff(300), 'rejected');
    await drafted('audit-office-staff', staff(180), 'approved');
    await bed.pool.query(
      `UPDATE certificate_templates SET status = 'retired', retirement_requested_by = $1,
              retirement_requested_at = now(), retired_by = $2, retired_at = now()
        WHERE name = 'audit-office-staff'`,
      [bed.ids.admin, bed.ids.superAdmin],
    );

    const answer = await bed.call('clerk', 'GET', route);
    expect(answer.statusCode, answer.body).toBe(200);
    const items = answer.json().items as Array<{ name: string; kind: string }>;
    const personSign = items.filter((t) => t.kind === 'person-sign');
    expect(personSign).toEqual([
      expect.objectContaining({ name: 'person-sign', version: 1, seeded: true, holderTypes: ['person'] }),
      {
        name: 'tax-bureau-staff',
        kind: 'person-sign',
        version: 2,
        seeded: false,
        holderTypes: ['person'],
        validityDays: 400,
      },
    ]);
    expect(items.map((t) => t.name)).not.toContain('customs-staff');
    expect(items.map((t) => t.name)).not.toContain('audit-office-staff');
    expect(items.filter((t) => t.kind === 'device-sign').map((t) => t.name)).toEqual(['device-sign']);

    for (const who of ['reviewer', 'maker', 'admin', 'auditor', 'superAdmin'] as const) {
      expect((await bed.call(who, 'GET', route)).statusCode, who).toBe(403);
    }
    expect((await bed.call(undefined, 'GET', route)).statusCode).toBe(401);
  });
});
