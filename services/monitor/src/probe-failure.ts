/** A probe's negative answer, with the stable code stored beside it. */
export class ProbeFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The code a probe's error is stored under: its own, or what the network said. */
export function failureCode(err: unknown): string {
  if (err instanceof ProbeFailure) return err.code;
  const error = err as Error & { cause?: { code?: string } };
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'TIMEOUT';
  const code = error.cause?.code ?? (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'CONNECTION_REFUSED';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'CONNECTION_RESET';
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
  return 'PROBE_ERROR';
}

/** Fetches a URL and insists on a 200 answer. */
export async function fetchOk(url: string, signal: AbortSignal, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, { ...init, signal });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new ProbeFailure(`HTTP_${res.status}`, `${url} answered ${res.status}`);
  }
  return res;
}
