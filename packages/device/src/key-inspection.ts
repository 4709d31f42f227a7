import pkcs11 from 'pkcs11js';

/** How a private key may be used and whether it has ever been exposed, as the token reports it. */
export interface PrivateKeyAttributes {
  private: boolean;
  sensitive: boolean;
  alwaysSensitive: boolean;
  extractable: boolean;
  neverExtractable: boolean;
  /** Generated inside the device, not imported or unwrapped. */
  local: boolean;
  sign: boolean;
  decrypt: boolean;
  unwrap: boolean;
  /** Extractable, if at all, only under a key the security officer made trusted. */
  wrapWithTrusted: boolean;
}

/** What the token holds under one label. Two keys of a kind under it make the label ambiguous. */
export interface KeyPairInspection {
  privateKeys: number;
  publicKeys: number;
  /** The first private key's attributes, when there is one. */
  privateKey?: PrivateKeyAttributes;
}

export const privateKeyAttributeTypes: Record<keyof PrivateKeyAttributes, number> = {
  private: pkcs11.CKA_PRIVATE,
  sensitive: pkcs11.CKA_SENSITIVE,
  alwaysSensitive: pkcs11.CKA_ALWAYS_SENSITIVE,
  extractable: pkcs11.CKA_EXTRACTABLE,
  neverExtractable: pkcs11.CKA_NEVER_EXTRACTABLE,
  local: pkcs11.CKA_LOCAL,
  sign: pkcs11.CKA_SIGN,
  decrypt: pkcs11.CKA_DECRYPT,
  unwrap: pkcs11.CKA_UNWRAP,
  wrapWithTrusted: pkcs11.CKA_WRAP_WITH_TRUSTED,
};

/** CK_BBOOL values as C_GetAttributeValue returns them, one byte each. */
export function privateKeyAttributes(values: pkcs11.Attribute[]): PrivateKeyAttributes {
  const byType = new Map(values.map((a) => [a.type, a.value]));
  const entries = Object.entries(privateKeyAttributeTypes).map(([name, type]) => [
    name,
    flag(byType.get(type)),
  ]);
  return Object.fromEntries(entries) as PrivateKeyAttributes;
}

/** How a secret key may be used and whether it has ever been exposed, as the token reports it. */
export interface SecretKeyAttributes {
  /** The vendor's secret key type (SM4 on GM devices, AES on SoftHSM) and not another. */
  expectedType: boolean;
  sensitive: boolean;
  alwaysSensitive: boolean;
  extractable: boolean;
  neverExtractable: boolean;
  local: boolean;
  encrypt: boolean;
  decrypt: boolean;
  wrap: boolean;
  unwrap: boolean;
}

/** What the token holds under one label, when a secret key is expected there. */
export interface SecretKeyInspection {
  secretKeys: number;
  /** Objects of any other class under the label. */
  otherObjects: number;
  /** The first secret key's attributes, when there is one. */
  secretKey?: SecretKeyAttributes;
}

export const secretKeyAttributeTypes: Record<Exclude<keyof SecretKeyAttributes, 'expectedType'>, number> = {
  sensitive: pkcs11.CKA_SENSITIVE,
  alwaysSensitive: pkcs11.CKA_ALWAYS_SENSITIVE,
  extractable: pkcs11.CKA_EXTRACTABLE,
  neverExtractable: pkcs11.CKA_NEVER_EXTRACTABLE,
  local: pkcs11.CKA_LOCAL,
  encrypt: pkcs11.CKA_ENCRYPT,
  decrypt: pkcs11.CKA_DECRYPT,
  wrap: pkcs11.CKA_WRAP,
  unwrap: pkcs11.CKA_UNWRAP,
};

function flag(value: unknown): boolean {
  return Buffer.isBuffer(value) && value.length > 0 && value[0] !== 0;
}

/** CK_BBOOL values and the key type as C_GetAttributeValue returns them. */
export function secretKeyAttributes(
  values: pkcs11.Attribute[],
  expectedKeyType: number,
): SecretKeyAttributes {
  const byType = new Map(values.map((a) => [a.type, a.value]));
  const entries = Object.entries(secretKeyAttributeTypes).map(([name, type]) => [
    name,
    flag(byType.get(type)),
  ]);
  const keyType = byType.get(pkcs11.CKA_KEY_TYPE);
  // CK_ULONG in the host's order: 8 bytes on the 64-bit Linux hosts the CA runs on.
  const expectedType =
    Buffer.isBuffer(keyType) &&
    keyType.length === 8 &&
    keyType.readBigUInt64LE(0) === BigInt(expectedKeyType);
  return { expectedType, ...Object.fromEntries(entries) } as SecretKeyAttributes;
}
