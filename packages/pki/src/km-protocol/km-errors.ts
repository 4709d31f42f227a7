/** Why a KM refuses a request; the code begins every ErrorPkgRespond errDesc. */
export type KmErrorCode =
  | 'MALFORMED'
  | 'SIGNATURE_INVALID'
  | 'STALE'
  | 'REPLAYED'
  | 'CALLER_UNKNOWN'
  | 'CALLER_REVOKED'
  | 'NOT_PERMITTED'
  | 'ALGORITHM_UNSUPPORTED'
  | 'KEY_UNKNOWN'
  | 'KEY_NOT_CURRENT'
  | 'CERT_NO_TAKEN'
  | 'TOO_MANY_REQUESTS'
  | 'INTERNAL';

/**
 * ErrorPkgRespond errNo for each code. GM/T 0014 leaves the numbers to the KM (the public
 * implementations each invent their own), so these are ours: published, never renumbered.
 */
export const kmErrors: Readonly<Record<KmErrorCode, { errNo: number; description: string }>> = {
  MALFORMED: { errNo: 1, description: 'the request is not a well-formed CARequest' },
  SIGNATURE_INVALID: { errNo: 2, description: 'the request signature does not verify' },
  STALE: { errNo: 3, description: 'requestTime is outside the accepted window' },
  REPLAYED: { errNo: 4, description: 'taskNO was already used for a different request' },
  CALLER_UNKNOWN: {
    errNo: 5,
    description: 'no current certificate of a permitted caller signed the request',
  },
  CALLER_REVOKED: { errNo: 6, description: "the caller's certificate is revoked" },
  NOT_PERMITTED: { errNo: 7, description: 'the caller may not make this kind of request' },
  ALGORITHM_UNSUPPORTED: { errNo: 8, description: 'only SM2-256 keys delivered with SM2, SM4 and SM3' },
  KEY_UNKNOWN: { errNo: 9, description: 'no escrowed key for this userCertNo' },
  KEY_NOT_CURRENT: { errNo: 10, description: 'the escrowed key is revoked or archived' },
  CERT_NO_TAKEN: { errNo: 11, description: 'userCertNo already has a key for this CA' },
  TOO_MANY_REQUESTS: { errNo: 12, description: 'the KM is busy; retry later' },
  INTERNAL: { errNo: 13, description: 'the KM failed; retry later' },
};

const CODE_BY_ERRNO = new Map(
  Object.entries(kmErrors).map(([code, { errNo }]) => [errNo, code as KmErrorCode]),
);

/** The code of an errNo from kmErrors; undefined for numbers another KM may send. */
export function kmErrorCode(errNo: number): KmErrorCode | undefined {
  return CODE_BY_ERRNO.get(errNo);
}
