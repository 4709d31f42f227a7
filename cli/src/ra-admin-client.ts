import type { Config } from '@sm2ca/platform';
import { serviceClient } from './service-client.ts';

/**
 * The RA's operator API as the CLI calls it, under the credential of the administrator at the
 * keyboard: the CLI has no powers of its own over operators.
 */
export function raAdminClient(config: Config, env: NodeJS.ProcessEnv = process.env) {
  return serviceClient(
    config,
    'ra',
    'a super admin (the first one is printed by `sm2ca init --super-admin`)',
    env,
  );
}
