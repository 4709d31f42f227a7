import type { Config } from './config.ts';
import { caEntry, ldapAttributeUrl } from './directory-names.ts';

/**
 * Where relying parties find an issuer's CRL and certificate. The CA writes
 * these into certificates and the CRL service serves them, so both take them
 * from here. With `publicUrls.ldap` set and the issuer's subject (DER) given, the CRL is also
 * named by its place in the directory: one distribution point, two names for the same CRL.
 */
export function issuerUrls(config: Config, issuerId: string, issuerSubject?: Uint8Array) {
  const crlBase = config.publicUrls.crl.replace(/\/+$/, '');
  const crl = `${crlBase}/crl/${issuerId}.crl`;
  const ldap = config.publicUrls.ldap;
  return {
    crl,
    crlDistributionPoints:
      ldap && issuerSubject
        ? [
            crl,
            ldapAttributeUrl(
              ldap,
              caEntry(issuerSubject, config.directory),
              'certificateRevocationList;binary',
            ),
          ]
        : [crl],
    deltaCrl: `${crlBase}/crl/${issuerId}-delta.crl`,
    caCertificate: `${crlBase}/ca/${issuerId}.cer`,
    ocsp: config.publicUrls.ocsp,
  };
}
