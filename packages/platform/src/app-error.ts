/**
 * The error every service answers with. `code` is stable and machine-readable
 * (clients branch on it); `message` is for the human reading the response.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Start-up problems: bad settings, unreachable dependencies. Printed as one line and the process exits. */
export class ConfigError extends AppError {
  constructor(
    readonly setting: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('CONFIG_INVALID', `${setting}: ${message}`, 500, { setting }, options);
  }
}
