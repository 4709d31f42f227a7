import pkcs11 from 'pkcs11js';

export type DeviceErrorCode =
  | 'DEVICE_PIN_INCORRECT'
  | 'DEVICE_PIN_LOCKED'
  | 'DEVICE_TOKEN_NOT_FOUND'
  | 'DEVICE_TOKEN_UNREADABLE'
  | 'DEVICE_KEY_NOT_FOUND'
  | 'DEVICE_KEY_UNEXTRACTABLE'
  /** The label is taken, and the operation would not add a second object under it. */
  | 'DEVICE_KEY_EXISTS'
  /** A wrapped key unwrapped to a key other than the one it was said to be. */
  | 'DEVICE_KEY_MISMATCH'
  | 'DEVICE_MECHANISM_UNSUPPORTED'
  | 'DEVICE_BAD_INPUT'
  | 'DEVICE_ERROR';

const ckrNames = new Map<number, string>(
  Object.entries(pkcs11)
    .filter(([name, value]) => name.startsWith('CKR_') && typeof value === 'number')
    .map(([name, value]) => [value as number, name]),
);

const codeByCkr: Record<string, DeviceErrorCode> = {
  CKR_PIN_INCORRECT: 'DEVICE_PIN_INCORRECT',
  CKR_PIN_INVALID: 'DEVICE_PIN_INCORRECT',
  CKR_PIN_LEN_RANGE: 'DEVICE_PIN_INCORRECT',
  CKR_PIN_LOCKED: 'DEVICE_PIN_LOCKED',
  CKR_TOKEN_NOT_RECOGNIZED: 'DEVICE_TOKEN_UNREADABLE',
  CKR_MECHANISM_INVALID: 'DEVICE_MECHANISM_UNSUPPORTED',
  CKR_MECHANISM_PARAM_INVALID: 'DEVICE_MECHANISM_UNSUPPORTED',
  CKR_KEY_TYPE_INCONSISTENT: 'DEVICE_MECHANISM_UNSUPPORTED',
  CKR_KEY_UNEXTRACTABLE: 'DEVICE_KEY_UNEXTRACTABLE',
  CKR_ATTRIBUTE_SENSITIVE: 'DEVICE_KEY_UNEXTRACTABLE',
  CKR_KEY_HANDLE_INVALID: 'DEVICE_KEY_NOT_FOUND',
  CKR_OBJECT_HANDLE_INVALID: 'DEVICE_KEY_NOT_FOUND',
  CKR_DATA_LEN_RANGE: 'DEVICE_BAD_INPUT',
  CKR_DATA_INVALID: 'DEVICE_BAD_INPUT',
  CKR_ENCRYPTED_DATA_INVALID: 'DEVICE_BAD_INPUT',
  CKR_ENCRYPTED_DATA_LEN_RANGE: 'DEVICE_BAD_INPUT',
  CKR_WRAPPED_KEY_INVALID: 'DEVICE_BAD_INPUT',
  CKR_WRAPPED_KEY_LEN_RANGE: 'DEVICE_BAD_INPUT',
};

/** The crypto device's own error; `ckr` names the PKCS#11 return value when there is one. */
export class DeviceError extends Error {
  override readonly name = 'DeviceError';

  constructor(
    readonly code: DeviceErrorCode,
    message: string,
    readonly ckr?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The CKR_* name of a pkcs11js error, or undefined for anything else. */
export function ckrName(error: unknown): string | undefined {
  if (error instanceof pkcs11.Pkcs11Error)
    return ckrNames.get(error.code) ?? `CKR_0x${error.code.toString(16)}`;
  return undefined;
}

export function toDeviceError(error: unknown, operation: string): DeviceError {
  if (error instanceof DeviceError) return error;
  const ckr = ckrName(error);
  if (ckr)
    return new DeviceError(codeByCkr[ckr] ?? 'DEVICE_ERROR', `${operation}: ${ckr}`, ckr, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new DeviceError('DEVICE_ERROR', `${operation}: ${message}`, undefined, { cause: error });
}
