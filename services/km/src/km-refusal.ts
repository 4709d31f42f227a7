import type { KmErrorCode } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';

/**
 * The HTTP status of each refusal; the body is always a signed KMRespond whose ErrorPkgRespond
 * carries the GM/T 0014 error number, so a client that reads only the DER still knows why.
 */
export const refusalStatus: Record<KmErrorCode, number> = {
  MALFORMED: 400,
  SIGNATURE_INVALID: 401,
  STALE: 401,
  REPLAYED: 409,
  CALLER_UNKNOWN: 401,
  CALLER_REVOKED: 403,
  NOT_PERMITTED: 403,
  ALGORITHM_UNSUPPORTED: 400,
  KEY_UNKNOWN: 404,
  KEY_NOT_CURRENT: 409,
  CERT_NO_TAKEN: 409,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
};

export function kmRefusal(code: KmErrorCode, message: string, details?: Record<string, unknown>): AppError {
  return new AppError(code, message, refusalStatus[code], details);
}

/** A refusal of the KM's own (not a fault): answered in the protocol, audited. */
export function refusalCode(err: unknown): KmErrorCode | undefined {
  if (!(err instanceof AppError) || err.status >= 500) return undefined;
  return Object.hasOwn(refusalStatus, err.code) ? (err.code as KmErrorCode) : undefined;
}
