import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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

/** Settings given as strings (env) that the schema wants as integers. */
function coerce(raw: unknown): unknown {
  return typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
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
    if (value !== undefined) setPath(tree, source.path, coerce(value));
  }
  const first = Value.Errors(ConfigSchema, tree).First();
  if (first) {
    const path = first.path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    const shown = JSON.stringify(getPath(tree, path) ?? null);
    const secret = /pin|password|databaseUrl/i.test(path);
    throw new ConfigError(describe(path, fromEnv), `${first.message}${secret ? '' : ` (got ${shown})`}`);
  }
  const config = Value.Clean(ConfigSchema, tree) as Config;
  config.home = resolve(config.home);
  return config;
}
