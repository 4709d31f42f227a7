import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from './app-error.ts';
import { type Config, ConfigSchema } from './config-schema.ts';
import { settingSources } from './config-sources.ts';

export type { Config } from './config-schema.ts';

type Tree = Record<string, unknown>;

function getPath(tree: Tree, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Tree | undefined)?.[key], tree);
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop()!;
  let node = tree;
  for (const key of keys) {
    node[key] ??= {};
    node = node[key] as Tree;
  }
  node[last] = value;
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('SM2CA_CONFIG', `cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Tree;
  } catch (err) {
    throw new ConfigError('SM2CA_CONFIG', `${file} is not a JSON object (${(err as Error).message})`);
  }
}

/**
 * The installation (repository root). The default home `./var` belongs to it, so `npx sm2ca` finds the
 * same CA from any directory; SM2CA_HOME is relative to where the operator typed it, a config file's
 * `home` to that file.
 */
const installation = fileURLToPath(new URL('../../../', import.meta.url));

function schemaAt(path: string): TSchema | undefined {
  return path
    .split('.')
    .reduce<TSchema | undefined>((node, key) => node?.properties?.[key] as TSchema | undefined, ConfigSchema);
}

/** Environment values are strings; only settings the schema wants as integers or booleans change type. */
function coerce(path: string, raw: unknown): unknown {
  const type = schemaAt(path)?.type;
  if (typeof raw !== 'string') return raw;
  if (type === 'integer' && /^-?\d+$/.test(raw.trim())) return Number(raw.trim());
  if (type === 'boolean' && /^(true|false)$/.test(raw.trim())) return raw.trim() === 'true';
  return raw;
}

/** An enum setting's error lists what it allows, so the operator need not look it up. */
function expected(schema: TSchema, message: string): string {
  const choices = (schema.anyOf as TSchema[] | undefined)?.map((s) => s.const);
  if (!choices?.length || choices.some((c) => typeof c !== 'string')) return message;
  return `expected one of ${choices.join(', ')}`;
}

function describe(path: string, fromEnv: Set<string>): string {
  const source = settingSources.find((s) => s.path === path);
  if (!source) return path;
  return fromEnv.has(path) ? source.env : `${path} (config file; env ${source.env})`;
}

/**
 * One typed configuration from, in order of precedence: environment variables,
 * the JSON file named by SM2CA_CONFIG, then defaults. Any bad value stops start-up
 * with one line that names the setting.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const tree: Tree = env.SM2CA_CONFIG ? readConfigFile(env.SM2CA_CONFIG) : {};
  const homeBase = env.SM2CA_HOME
    ? process.cwd()
    : tree.home !== undefined && env.SM2CA_CONFIG
      ? dirname(resolve(env.SM2CA_CONFIG))
      : installation;
  const fromEnv = new Set<string>();
  for (const source of settingSources) {
    const value = env[source.env];
    if (value !== undefined && value !== '') {
      setPath(tree, source.path, value);
      fromEnv.add(source.path);
    } else if (getPath(tree, source.path) === undefined && source.fallback !== undefined) {
      setPath(tree, source.path, source.fallback);
    }
  }
  for (const source of settingSources) {
    const value = getPath(tree, source.path);
    if (value !== undefined) setPath(tree, source.path, coerce(source.path, value));
  }
  const first = Value.Errors(ConfigSchema, tree).First();
  if (first) {
    const path = first.path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    const shown = JSON.stringify(getPath(tree, path) ?? null);
    const secret = /pin|password|databaseUrl|sealKey/i.test(path);
    const message = expected(first.schema, first.message);
    throw new ConfigError(describe(path, fromEnv), `${message}${secret ? '' : ` (got ${shown})`}`);
  }
  const config = Value.Clean(ConfigSchema, tree) as Config;
  if (config.ca.issuingDays >= config.ca.rootDays) {
    throw new ConfigError(
      describe('ca.issuingDays', fromEnv),
      `must be fewer than the root CA's ${config.ca.rootDays} days (SM2CA_ROOT_CA_DAYS): the issuing CA ends inside the root (got ${config.ca.issuingDays})`,
    );
  }
  if (config.km.poolLowWater >= config.km.poolSize) {
    throw new ConfigError(
      describe('km.poolLowWater', fromEnv),
      `must be below the pool size of ${config.km.poolSize} (SM2CA_KM_POOL_SIZE): the filler refills from the low-water mark up to the size (got ${config.km.poolLowWater})`,
    );
  }
  if (config.login.maxLockoutSeconds < config.login.lockoutSeconds) {
    throw new ConfigError(
      describe('login.maxLockoutSeconds', fromEnv),
      `must be at least the first lockout of ${config.login.lockoutSeconds} s (SM2CA_LOGIN_LOCKOUT_SECONDS) (got ${config.login.maxLockoutSeconds})`,
    );
  }
  config.home = resolve(homeBase, config.home);
  return config;
}
