import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export const slapdPath = '/usr/sbin/slapd';
const schemaDir = '/etc/ldap/schema';
const moduleDir = '/usr/lib/ldap';

export interface LocalDirectoryOptions {
  /** Where the configuration, the database and the admin password live. */
  dir: string;
  port: number;
  /** The suffix the directory holds: the publisher's base DN. */
  baseDn: string;
  slapd?: string;
}

export interface LocalDirectory {
  url: string;
  bindDn: string;
  password: string;
  readonly process: ChildProcess;
  /** Ends slapd (SIGTERM, then SIGKILL after 10 s); its database stays for the next start. */
  stop(): Promise<void>;
}

function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The admin password, made once and kept with the directory (mode 0600). */
function adminPassword(dir: string): string {
  const file = join(dir, 'admin-password');
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

function slapdConf(options: LocalDirectoryOptions, bindDn: string, password: string): string {
  const { dir, baseDn } = options;
  const moduleLoad = existsSync(join(moduleDir, 'back_mdb.la'))
    ? `modulepath ${moduleDir}\nmoduleload back_mdb\n`
    : '';
  return `# Written by sm2ca start; changes are overwritten.
include ${schemaDir}/core.schema
include ${schemaDir}/cosine.schema
include ${schemaDir}/inetorgperson.schema
pidfile ${join(dir, 'slapd.pid')}
argsfile ${join(dir, 'slapd.args')}
${moduleLoad}
database mdb
maxsize 4294967296
suffix ${quoted(baseDn)}
rootdn ${quoted(bindDn)}
rootpw ${password}
directory ${join(dir, 'data')}
index objectClass eq
index cn,o,ou eq
# Certificates and CRLs are public; only the publisher (rootdn) writes.
access to * by * read
`;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * An OpenLDAP slapd of our own under `dir`, on loopback: its configuration is written on every
 * start (slapd.conf, no cn=config), its database kept. Resolves once it accepts connections.
 */
export async function startLocalDirectory(options: LocalDirectoryOptions): Promise<LocalDirectory> {
  const { dir, port } = options;
  mkdirSync(join(dir, 'data'), { recursive: true });
  const bindDn = `cn=admin,${options.baseDn}`;
  const password = adminPassword(dir);
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, slapdConf(options, bindDn, password), { mode: 0o600 });
  const url = `ldap://127.0.0.1:${port}`;
  // -d 0 keeps slapd in the foreground, a child we supervise rather than a daemon we lose track of.
  // Without libfaketime: slapd crashes under it, and the entries it keeps carry no dates we compare.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== 'LD_PRELOAD' && !name.startsWith('FAKETIME')),
  );
  const child = spawn(options.slapd ?? slapdPath, ['-f', conf, '-h', `${url}/`, '-d', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const deadline = Date.now() + 15_000;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `slapd did not start on port ${port}: ${stderr.trim() || `exit code ${child.exitCode}`}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    bindDn,
    password,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
