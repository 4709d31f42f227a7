/** CRLReason (RFC 5280 5.3.1); 7 is unused. Shared by CRL entries and OCSP revoked status. */
export const CrlReason = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type CrlReason = (typeof CrlReason)[keyof typeof CrlReason];

export function isCrlReason(value: number): value is CrlReason {
  return Number.isInteger(value) && value >= 0 && value <= 10 && value !== 7;
}
