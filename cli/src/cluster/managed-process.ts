import { type ChildProcess, spawn } from 'node:child_process';
import { childEnv } from './child-env.ts';

/** Keep the last this many characters of a process's output: enough to explain a failure. */
const outputKept = 64_000;

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this system user (through runuser) when we are root: PostgreSQL refuses to run as root. */
  user?: string;
}

/**
 * A child of the HA stack that is started again after it dies (a crash, or a chaos kill) until
 * stop(): what systemd or Kubernetes would do for it. Its output is kept for error messages.
 */
export class ManagedProcess {
  readonly spec: ProcessSpec;
  #child: ChildProcess | undefined;
  #output = '';
  #stopping = false;
  #restartMs: number;
  restarts = 0;

  constructor(spec: ProcessSpec, options: { restartMs?: number } = {}) {
    this.spec = spec;
    this.#restartMs = options.restartMs ?? 1_000;
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  output(): string {
    return this.#output;
  }

  start(): void {
    const { command, args, env, cwd, user } = this.spec;
    const asUser = user && process.getuid?.() === 0;
    const child = spawn(asUser ? 'runuser' : command, asUser ? ['-u', user, '--', command, ...args] : args, {
      env: childEnv(env),
      cwd,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group, so stop() reaches whatever it started (runuser's child, postgres).
      detached: true,
    });
    this.#child = child;
    const keep = (data: Buffer) => {
      this.#output = (this.#output + data.toString()).slice(-outputKept);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => keep(Buffer.from(`${err.message}\n`)));
    child.once('exit', () => {
      if (this.#stopping || this.#child !== child) return;
      setTimeout(() => {
        if (this.#stopping) return;
        this.restarts++;
        this.start();
      }, this.#restartMs).unref();
    });
  }

  /** SIGKILL to the whole process group: a crash, not a shutdown. It is started again. */
  crash(): void {
    const pid = this.pid;
    if (pid) process.kill(-pid, 'SIGKILL');
  }

  /** Gives it `graceMs` after SIGTERM, then SIGKILLs its process group; it is not started again. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (!child?.pid) return;
    const group = -child.pid;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    // Whatever it left behind in its group (postgres backends of a killed Patroni, say).
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
}
