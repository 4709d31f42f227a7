import { encodeName } from '@sm2ca/pki';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { issuerUrls } from './public-urls.ts';

const subCa = encodeName([
  { type: 'C', value: 'CN' },
  { type: 'O', value: 'SM2CA' },
  { type: 'CN', value: 'SM2CA Issuing CA' },
]);

describe('issuer URLs', () => {
  it('name the HTTP CRL only, unless the directory has a public address', () => {
    const config = loadConfig({ SM2CA_CRL_URL: 'http://crl.example.cn/' });
    expect(issuerUrls(config, 'sub', subCa).crlDistributionPoints).toEqual([
      'http://crl.example.cn/crl/sub.crl',
    ]);
  });

  it('add the CA entry in the directory as a second name of the same CRL', () => {
    const config = loadConfig({
      SM2CA_CRL_URL: 'http://crl.example.cn',
      SM2CA_LDAP_PUBLIC_URL: 'ldap://ldap.example.cn:389',
    });
    expect(issuerUrls(config, 'sub', subCa).crlDistributionPoints).toEqual([
      'http://crl.example.cn/crl/sub.crl',
      'ldap://ldap.example.cn:389/cn=SM2CA%20Issuing%20CA,o=SM2CA,c=CN?certificateRevocationList;binary',
    ]);
  });
});
