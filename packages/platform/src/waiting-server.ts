import { createServer, type Server } from 'node:http';

const answers: Record<string, { status: number; body: object }> = {
  '/health/live': { status: 200, body: { ok: true } },
  '/health/ready': { status: 503, body: { ok: false } },
};

const waiting = {
  status: 503,
  body: { error: { code: 'DATABASE_UNAVAILABLE', message: 'waiting for the database; try again shortly' } },
};

/**
 * What a service answers on its address while it waits for its database, before it can
 * build its routes: alive, not ready, and DATABASE_UNAVAILABLE to everything else.
 */
export async function listenWhileWaiting(host: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    const { status, body } = answers[new URL(request.url ?? '/', 'http://x').pathname] ?? waiting;
    response.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** Frees the address for the service itself. */
export function closeWaitingServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
