import { GM_OIDS } from '@sm2ca/gm';

/**
 * Every OID the certificate half of this package uses, in one place (GM/T 0006, GM/T 0015,
 * RFC 5280, RFC 6960). The GM/T 0015 identity-extension OIDs follow GM-NOTES; where an OID is
 * unconfirmed it is still only ever spelled here.
 */
export const OIDS = {
  ...GM_OIDS,

  // Distinguished-name attribute types (X.520).
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  emailAddress: '1.2.840.113549.1.9.1',

  // Certificate extensions (RFC 5280).
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  cRLDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extendedKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',

  // Access methods and extended key usages.
  accessOcsp: '1.3.6.1.5.5.7.48.1',
  accessCaIssuers: '1.3.6.1.5.5.7.48.2',
  kpServerAuth: '1.3.6.1.5.5.7.3.1',
  kpClientAuth: '1.3.6.1.5.5.7.3.2',
  kpCodeSigning: '1.3.6.1.5.5.7.3.3',
  kpEmailProtection: '1.3.6.1.5.5.7.3.4',
  kpOcspSigning: '1.3.6.1.5.5.7.3.9',

  // GM/T 0015 identity extensions.
  identifyCode: '1.2.156.10260.4.1.1',
  insuranceNumber: '1.2.156.10260.4.1.2',
  icRegistrationNumber: '1.2.156.10260.4.1.3',
  organizationCode: '1.2.156.10260.4.1.4',
  taxationNumber: '1.2.156.10260.4.1.5',
  unifiedSocialCreditCode: '1.2.156.10260.4.4',

  // PKCS#9 attribute carrying requested extensions in a CSR.
  extensionRequest: '1.2.840.113549.1.9.14',

  ecdsaWithSha256: '1.2.840.10045.4.3.2',
} as const;
