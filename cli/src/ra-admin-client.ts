import { AppError, type Config } from '@sm2ca/platform';

/**
 * The RA's operator API as the CLI calls it, under the credential of the administrator at the
 * keyboard (SM2CA_OPERATOR_CREDENTIAL): the CLI has no powers of its own over operators.
 */
export function raAdminClient(config: Config, env: NodeJS.ProcessEnv = process.env) {
  const credential = env.SM2CA_OPERATOR_CREDENTIAL?.trim();
  if (!credential) {
    throw new AppError(
      'OPERATOR_CREDENTIAL_REQUIRED',
      "set SM2CA_OPERATOR_CREDENTIAL to a super admin's credential (the first one is printed by `sm2ca init --super-admin`)",
    );
  }
  const { host, port } = config.services.ra;
  const base = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  return async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${credential}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new AppError(
        'RA_UNREACHABLE',
        `the RA at ${base} does not answer; is \`sm2ca start\` running?`,
        503,
        undefined,
        {
          cause: err,
        },
      );
    }
    const text = await res.text();
    const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (!res.ok) {
      const error = (json.error ?? {}) as { code?: string; message?: string };
      throw new AppError(
        error.code ?? 'RA_ERROR',
        error.message ?? `the RA answered ${res.status}`,
        res.status,
      );
    }
    return json as T;
  };
}
