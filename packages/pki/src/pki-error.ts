/**
 * The only error type this package throws. `code` is stable and machine-readable
 * (callers map it to HTTP 4xx); `message` is for humans.
 */
export class PkiError extends Error {
  override readonly name = 'PkiError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
