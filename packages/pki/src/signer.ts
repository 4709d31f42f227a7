/**
 * The crypto device signs and verifies; this package only builds the bytes.
 * Both work on SM2-with-SM3 under the GM/T 0009 default signer ID unless the
 * implementation says otherwise.
 */
export interface Signer {
  /** SM2-with-SM3 signature over `data` as DER SEQUENCE { r, s }. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** A signer that takes its data in consecutive parts, so a TBS of tens of megabytes needs no one buffer. */
export interface PartsSigner {
  /** SM2-with-SM3 signature over the concatenation of `parts`, as DER SEQUENCE { r, s }. */
  signParts(parts: readonly Uint8Array[]): Promise<Uint8Array>;
}

export interface Verifier {
  /** True when `signature` (DER) is a valid SM2-with-SM3 signature of `data` by the key in `spki`. */
  verify(spki: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}
