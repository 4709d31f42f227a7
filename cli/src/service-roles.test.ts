import type { Config } from '@sm2ca/platform';
import { describe, expect, it } from 'vitest';
import { useServiceRoles } from './service-roles.ts';

const embedded = {} as Config;
const external = { databaseUrl: 'postgresql://owner@db.example/sm2ca' } as Config;

describe('useServiceRoles', () => {
  it('always on the embedded database', () => {
    expect(useServiceRoles(embedded, {})).toBe(true);
    expect(useServiceRoles(embedded, { SM2CA_SERVICE_ROLES: '0' })).toBe(true);
  });

  it("on an operator's DATABASE_URL only with SM2CA_SERVICE_ROLES=1", () => {
    expect(useServiceRoles(external, {})).toBe(false);
    expect(useServiceRoles(external, { SM2CA_SERVICE_ROLES: '0' })).toBe(false);
    expect(useServiceRoles(external, { SM2CA_SERVICE_ROLES: '1' })).toBe(true);
  });

  it('refuses any other value, naming the setting', () => {
    expect(() => useServiceRoles(external, { SM2CA_SERVICE_ROLES: 'yes' })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: 'SM2CA_SERVICE_ROLES: must be 1 or 0, not "yes"',
      }),
    );
  });
});
