import { connectPool, type Pool } from '@sm2ca/store';

/**
 * A pool on the test database acting as a service's own role (migration 0020), as `sm2ca start`
 * runs it: the owner's connection with `role` set at start-up, so every statement is judged by
 * that role's grants. No LOGIN or password is set on the shared cluster's roles, which test
 * files running side by side would otherwise overwrite for each other.
 */
export function serviceRolePool(url: string, service: 'ra' | 'ca' | 'km' | 'ocsp' | 'crl'): Promise<Pool> {
  const withRole = new URL(url);
  withRole.searchParams.set('options', `-c role=sm2ca_${service}`);
  return connectPool(withRole.toString());
}
