/** The RA's API as the console calls it: same origin, the session token as bearer, refusals as ApiError. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const tokenKey = 'sm2ca.session';

export const session = {
  // sessionStorage: the token dies with the tab, and the RA ends it after its own lifetime anyway.
  token: (): string | null => sessionStorage.getItem(tokenKey),
  set: (token: string) => sessionStorage.setItem(tokenKey, token),
  clear: () => sessionStorage.removeItem(tokenKey),
};

let onSessionLost: () => void = () => {};
export function whenSessionLost(handler: () => void): void {
  onSessionLost = handler;
}

/** Sends a request with the session; a refusal becomes an ApiError, a lost session is reported. */
async function send(method: 'GET' | 'POST' | 'PUT', path: string, accept: string, body?: unknown) {
  const token = session.token();
  const headers: Record<string, string> = { accept };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.ok) return res;
  const json = parse(res, await res.text()) as { error?: { code?: string; message?: string } };
  const error = json.error ?? {};
  if (res.status === 401 && token) {
    session.clear();
    onSessionLost();
  }
  throw new ApiError(res.status, error.code ?? `HTTP_${res.status}`, error.message ?? res.statusText);
}

function parse(res: Response, text: string): unknown {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(res.status, 'NOT_JSON', text.slice(0, 200));
  }
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, 'application/json', body);
  return parse(res, await res.text()) as T;
}

/** A file the RA serves (an export), as the bytes it sent. */
export async function apiFile(path: string, accept: string): Promise<Blob> {
  return (await send('GET', path, accept)).blob();
}
