import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { AppError } from '@sm2ca/platform';

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The pid the running instance answers with, or '?' if it does not answer. */
function runningPid(path: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = createConnection(path);
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('close', () => resolve(answer.trim() || '?'));
    socket.on('error', () => resolve('?'));
  });
}

/**
 * One `sm2ca start` per home. The lock is an abstract Unix socket named after the home: the
 * kernel drops it when its process dies however it dies, so a crash leaves no stale lock and a
 * reused pid cannot pose as a running instance.
 */
export async function lockHome(home: string): Promise<{ release(): Promise<void> }> {
  // The same home reached through a symbolic link is the same home.
  const canonical = existsSync(home) ? realpathSync(home) : home;
  const path = `\0sm2ca-start-${createHash('sha256').update(canonical).digest('hex').slice(0, 32)}`;
  const server = createServer((socket) => socket.end(`${process.pid}\n`));
  try {
    await listen(server, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new AppError(
      'ALREADY_RUNNING',
      `sm2ca start is already running for ${home} (pid ${await runningPid(path)}); stop it first`,
    );
  }
  server.unref();
  return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
