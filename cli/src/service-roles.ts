import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Config, ConfigError, type Database, type ServiceName } from '@sm2ca/platform';

/** Set to 1 to run the services under their own roles on an operator's DATABASE_URL too. */
export const serviceRolesSetting = 'SM2CA_SERVICE_ROLES';

/**
 * Whether the services connect as their own least-privilege roles (migration 0020): always
 * on the embedded database, and on an operator's DATABASE_URL only when asked, since there
 * the roles are the cluster's and the owner's URL may be what the operator wants.
 */
export function useServiceRoles(config: Config, env: NodeJS.ProcessEnv): boolean {
  const asked = env[serviceRolesSetting];
  if (asked !== undefined && asked !== '' && asked !== '0' && asked !== '1') {
    throw new ConfigError(serviceRolesSetting, `must be 1 or 0, not ${JSON.stringify(asked)}`);
  }
  return !config.databaseUrl || asked === '1';
}

async function rolePassword(dir: string, service: ServiceName): Promise<string> {
  const file = join(dir, `${service}.password`);
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * Lets each service's role log in with its own password, kept in $SM2CA_HOME/pg/roles
 * (readable by the owner only), and answers the DATABASE_URL each service starts with.
 * Run after migrating as the database owner; a kept password is set again on every start.
 */
export async function serviceRoleUrls(
  config: Config,
  db: Database,
  services: readonly ServiceName[],
): Promise<Partial<Record<ServiceName, string>>> {
  const dir = join(config.home, 'pg', 'roles');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const urls: Partial<Record<ServiceName, string>> = {};
  for (const service of services) {
    const role = `sm2ca_${service}`;
    const password = await rolePassword(dir, service);
    const { rows } = await db.pool.query(
      "SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', $1::text, $2::text) AS sql",
      [role, password],
    );
    await db.pool.query(rows[0].sql);
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    urls[service] = url.toString();
  }
  return urls;
}
