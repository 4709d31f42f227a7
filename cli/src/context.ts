import { type Config, createLogger, type Logger, loadConfig } from '@sm2ca/platform';

export interface CliContext {
  config: Config;
  log: Logger;
}

/**
 * Configuration is read only by commands that need it, so `--help` works even
 * with a broken environment.
 */
export function cliContext(): CliContext {
  const config = loadConfig();
  const log = createLogger('sm2ca', {
    level: process.env.LOG_LEVEL ? config.logLevel : 'warn',
    destination: process.stderr,
  });
  return { config, log };
}
