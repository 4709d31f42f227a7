import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalDirectory, startLocalDirectory } from '../../cli/src/local-directory.ts';
import { freePort } from './free-port.ts';

export interface TestDirectory {
  /** Its configuration (slapd.conf) and database, for slapadd while it is stopped. */
  dir: string;
  url: string;
  bindDn: string;
  password: string;
  /** SM2CA_LDAP_* settings for a publisher writing to it. */
  env: Record<string, string>;
  /** Stops slapd; its database stays, for `start` to bring it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  remove(): Promise<void>;
}

/** A real OpenLDAP slapd of the test's own, in a temporary directory on a free loopback port. */
export async function startTestDirectory(baseDn = 'c=CN'): Promise<TestDirectory> {
  const dir = mkdtempSync(join(tmpdir(), 'sm2ca-slapd-'));
  const options = { dir, port: await freePort(), baseDn };
  let running: LocalDirectory | undefined = await startLocalDirectory(options);
  const { url, bindDn, password } = running;
  return {
    dir,
    url,
    bindDn,
    password,
    env: {
      SM2CA_LDAP_URL: url,
      SM2CA_LDAP_BIND_DN: bindDn,
      SM2CA_LDAP_PASSWORD: password,
      SM2CA_LDAP_BASE_DN: baseDn,
    },
    async stop() {
      await running?.stop();
      running = undefined;
    },
    async start() {
      running ??= await startLocalDirectory(options);
    },
    async remove() {
      await running?.stop();
      running = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every value of `attribute` in the entries `ldapsearch` finds (anonymously, as a relying party would). */
export function ldapValues(url: string, base: string, filter: string, attribute: string): Buffer[] {
  let out: string;
  try {
    out = execFileSync(
      'ldapsearch',
      ['-x', '-H', url, '-b', base, '-LLL', '-o', 'ldif-wrap=no', filter, attribute],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (err) {
    // 32: no such object — the base entry is not there (yet).
    if ((err as { status?: number }).status === 32) return [];
    throw err;
  }
  const prefix = `${attribute.toLowerCase()}:: `;
  return out
    .split('\n')
    .filter((line) => line.toLowerCase().startsWith(prefix))
    .map((line) => Buffer.from(line.slice(prefix.length), 'base64'));
}
