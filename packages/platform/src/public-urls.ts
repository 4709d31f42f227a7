import type { Config } from './config.ts';

/**
 * Where relying parties find an issuer's CRL and certificate. The CA writes
 * these into certificates and the CRL service serves them, so both take them
 * from here.
 */
export function issuerUrls(config: Config, issuerId: string) {
  const crlBase = config.publicUrls.crl.replace(/\/+$/, '');
  return {
    crl: `${crlBase}/crl/${issuerId}.crl`,
    deltaCrl: `${crlBase}/crl/${issuerId}-delta.crl`,
    caCertificate: `${crlBase}/ca/${issuerId}.cer`,
    ocsp: config.publicUrls.ocsp,
  };
}
