import type { ServiceName } from '@sm2ca/platform';

const servicesRoot = new URL('../../services/', import.meta.url).pathname;

/**
 * The CLI runs compiled (cli/bin/sm2ca.js) only while the build of every workspace is current,
 * so its services may run compiled too: no tsx compile at each launch. Run from source (tsx,
 * the tests), the services run from source as well.
 */
const compiled = import.meta.url.endsWith('.js');

/** Node's arguments that run one service's process. */
export function serviceArgs(name: ServiceName): string[] {
  return compiled
    ? ['--conditions=sm2ca-compiled', `${servicesRoot}${name}/dist/main.js`]
    : ['--import', import.meta.resolve('tsx'), `${servicesRoot}${name}/src/main.ts`];
}
