/** The store's own error type; `code` is stable so callers can map it (e.g. to a start-up message). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
