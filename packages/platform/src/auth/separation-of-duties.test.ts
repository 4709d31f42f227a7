import { describe, expect, it } from 'vitest';
import { roles } from './roles.ts';
import { incompatiblePairs, requireSeparationOfDuties } from './separation-of-duties.ts';

describe('separation of duties', () => {
  it('lets a certificate maker also enter or also review, and refuses every other pair', () => {
    const allowed = new Set(['entry_clerk+certificate_maker', 'reviewer+certificate_maker']);
    for (const [i, a] of roles.entries()) {
      for (const b of roles.slice(i + 1)) {
        const pair = `${a}+${b}`;
        expect(incompatiblePairs([a, b]).length === 0, pair).toBe(allowed.has(pair));
      }
    }
  });

  it('refuses the pairs the rules name, with a stable code and the reason', () => {
    const refused = (held: Parameters<typeof requireSeparationOfDuties>[0]) => {
      try {
        requireSeparationOfDuties(held);
      } catch (err) {
        return err as { code: string; status: number; message: string };
      }
      throw new Error(`${[...held].join('+')} was let through`);
    };
    expect(refused(['entry_clerk', 'reviewer'])).toMatchObject({
      code: 'ROLES_INCOMPATIBLE',
      status: 409,
      message: expect.stringContaining('entered and approved by two people'),
    });
    expect(refused(['reviewer', 'auditor']).message).toContain('checks the work of every other role');
    expect(refused(['judicial_officer', 'key_administrator']).message).toContain('holds no other role');
    expect(refused(['super_admin', 'audit_admin']).message).toContain('check one another');
    expect(refused(['business_admin', 'entry_clerk']).message).toContain('do not work its cases');
  });

  it('refuses a third role joining a compatible pair', () => {
    expect(incompatiblePairs(['entry_clerk', 'certificate_maker', 'reviewer'])).toEqual([
      ['entry_clerk', 'reviewer'],
    ]);
    expect(() => requireSeparationOfDuties(['certificate_maker', 'reviewer'])).not.toThrow();
    expect(() => requireSeparationOfDuties(['key_administrator'])).not.toThrow();
  });
});
