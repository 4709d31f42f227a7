import { createServer } from 'node:net';

/**
 * Ports handed out by this test process. The kernel may offer a port again as soon as the probe
 * closes it, before the service it was meant for has bound it, so two services of one stack could
 * otherwise be given the same port.
 */
const given = new Set<number>();

function probe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A TCP port on loopback that nothing listens on right now and this process has not handed out. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probe();
    if (!given.has(port)) {
      given.add(port);
      return port;
    }
  }
}
