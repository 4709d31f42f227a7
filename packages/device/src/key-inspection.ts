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
};

/** CK_BBOOL values as C_GetAttributeValue returns them, one byte each. */
export function privateKeyAttributes(values: pkcs11.Attribute[]): PrivateKeyAttributes {
  const byType = new Map(values.map((a) => [a.type, a.value]));
  const entries = Object.entries(privateKeyAttributeTypes).map(([name, type]) => {
    const value = byType.get(type);
    return [name, Buffer.isBuffer(value) && value.length > 0 && value[0] !== 0];
  });
  return Object.fromEntries(entries) as PrivateKeyAttributes;
}
