import { AppError, type Config } from '@sm2ca/platform';

export type ServiceName = keyof Config['services'];

/**
 * A service's API as the CLI calls it, under the credential of the operator at the keyboard
 * (SM2CA_OPERATOR_CREDENTIAL): the CLI has no powers of its own, so the service's access rules
 * and audit apply to what is asked through it.
 */
export function serviceClient(
  config: Config,
  service: ServiceName,
  who: string,
  env: NodeJS.ProcessEnv = process.env,
) {
  const credential = env.SM2CA_OPERATOR_CREDENTIAL?.trim();
  if (!credential) {
    throw new AppError(
      'OPERATOR_CREDENTIAL_REQUIRED',
      `set SM2CA_OPERATOR_CREDENTIAL to ${who}'s credential`,
    );
  }
  const { host, port } = config.services[service];
  const base = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  const name = service.toUpperCase();
  return async function call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
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
        `${name}_UNREACHABLE`,
        `the ${name} at ${base} does not answer; is \`sm2ca start\` running?`,
        503,
        undefined,
        { cause: err },
      );
    }
    const text = await res.text();
    const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (!res.ok) {
      const error = (json.error ?? {}) as { code?: string; message?: string };
      throw new AppError(
        error.code ?? `${name}_ERROR`,
        error.message ?? `the ${name} answered ${res.status}`,
        res.status,
      );
    }
    return json as T;
  };
}
