import { startHaStack } from './ha-stack.ts';

/**
 * `npx tsx test/support/ha-cluster/run.ts`: the HA stack until Ctrl-C, for trying it by hand
 * (deploy/cluster/README.md).
 */
const started = Date.now();
const stack = await startHaStack();
const primary = await stack.patroni.primary();
console.log(`HA stack up in ${Math.round((Date.now() - started) / 1000)} s`);
for (const [service, url] of Object.entries(stack.url)) console.log(`${service.padEnd(5)} ${url}`);
console.log(`database ${stack.adminDatabaseUrl} (primary now: ${primary?.name})`);
console.log(`super admin credential: ${stack.superAdmin}`);
console.log('Ctrl-C stops everything');
await new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});
await stack.stop();
