import { isDatabaseUnavailable } from '@sm2ca/store';
import { AppError } from './app-error.ts';

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/**
 * Lower packages have their own error types (platform sits above them); they
 * are recognised by name so each keeps its stable code.
 */
const statusByErrorName: Record<string, number> = {
  PkiError: 400,
  GmError: 400,
  DeviceError: 503,
};

const statusByStoreCode: Record<string, number> = {
  DB_CONFLICT: 409,
};

/** An outage is the client's to retry, under one code whatever the driver said. */
const databaseUnavailable: ErrorBody = {
  error: { code: 'DATABASE_UNAVAILABLE', message: 'the database cannot be reached; try again shortly' },
};

/** Status and body for any error a request handler let through; unknown errors reveal nothing. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody; expected: boolean } {
  if (err instanceof AppError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.details) body.error.details = err.details;
    return { status: err.status, body, expected: err.status < 500 };
  }
  const e = err as {
    name?: string;
    code?: unknown;
    message?: string;
    statusCode?: number;
    validation?: unknown;
  };
  if (e?.validation) {
    return {
      status: 400,
      body: { error: { code: 'REQUEST_INVALID', message: e.message ?? 'invalid request' } },
      expected: true,
    };
  }
  if (typeof e?.code === 'string' && e.name && statusByErrorName[e.name]) {
    const status = statusByErrorName[e.name]!;
    return {
      status,
      body: { error: { code: e.code, message: e.message ?? e.code } },
      expected: status < 500,
    };
  }
  if (isDatabaseUnavailable(err)) return { status: 503, body: databaseUnavailable, expected: false };
  if (e?.name === 'StoreError' && typeof e.code === 'string' && statusByStoreCode[e.code]) {
    return {
      status: statusByStoreCode[e.code]!,
      body: { error: { code: e.code, message: e.message ?? e.code } },
      expected: false,
    };
  }
  // Fastify's own client errors (bad JSON, wrong content type, body too large) carry statusCode 4xx.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = typeof e.code === 'string' ? e.code.replace(/^FST_ERR_/, 'HTTP_') : 'REQUEST_INVALID';
    return {
      status: e.statusCode,
      body: { error: { code, message: e.message ?? 'bad request' } },
      expected: true,
    };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal error; the incident was logged' } },
    expected: false,
  };
}
