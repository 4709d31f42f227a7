import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Anything that could carry a secret is censored wherever it appears, so a
 * careless `log.info({ config })` cannot leak a PIN or a database password.
 */
export const redactedPaths = [
  'pin',
  'soPin',
  'password',
  'databaseUrl',
  'credential',
  'token',
  'authorization',
  '*.pin',
  '*.soPin',
  '*.password',
  '*.databaseUrl',
  '*.credential',
  '*.token',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(
  name: string,
  options: { level?: string; destination?: pino.DestinationStream } = {},
): Logger {
  const settings: LoggerOptions = {
    name,
    level: options.level ?? 'info',
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
