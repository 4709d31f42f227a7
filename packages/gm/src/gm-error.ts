/**
 * The only error type this package throws. `code` is stable and machine-readable;
 * `message` is for humans.
 */
export class GmError extends Error {
  override readonly name = 'GmError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
