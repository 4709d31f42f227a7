import { PkiError } from './pki-error.ts';

/** Runs a decoder and reports anything it throws as PkiError(code). */
export function malformed<T>(code: string, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof PkiError && err.code === code) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new PkiError(code, `malformed ${what}: ${detail}`, { cause: err });
  }
}
