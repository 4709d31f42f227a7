import { createServer } from 'node:net';
import { type Config, ConfigError, type ServiceName } from '@sm2ca/platform';

function canListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Every service's address is free before anything starts: another instance (another home, the
 * same ports) would otherwise answer our readiness probes while our services fail to bind. The
 * local slapd's port is checked after them, when `sm2ca start` is to run one.
 */
export async function checkPortsFree(
  config: Config,
  names: ServiceName[],
  localDirectory = false,
): Promise<void> {
  for (const name of names) {
    const { host, port } = config.services[name];
    const err = await canListen(host, port);
    if (err) {
      const why = err.code === 'EADDRINUSE' ? 'already in use (another sm2ca start?)' : err.message;
      throw new ConfigError(`SM2CA_${name.toUpperCase()}_PORT`, `${host}:${port} ${why}`);
    }
  }
  if (localDirectory) {
    const port = config.directory.localPort;
    const err = await canListen('127.0.0.1', port);
    if (err) {
      const why = err.code === 'EADDRINUSE' ? 'already in use (another sm2ca start?)' : err.message;
      throw new ConfigError('SM2CA_LDAP_PORT', `127.0.0.1:${port} (local slapd) ${why}`);
    }
  }
}
