import { AppError } from '@sm2ca/platform';

/** Progress of long-running commands goes to stderr, so stdout stays the command's result. */
export function progress(message: string): void {
  process.stderr.write(`• ${message}\n`);
}

/** One line an operator can act on; the stack only with SM2CA_DEBUG set. */
export function describeFailure(err: unknown): string {
  if (process.env.SM2CA_DEBUG && err instanceof Error && err.stack) return err.stack;
  if (err instanceof AppError) return `${err.message} [${err.code}]`;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} [${code}]` : err.message;
  }
  return String(err);
}
