import smCrypto from 'sm-crypto';
import { SmCryptoSigner } from '../../../../test/support/sm-crypto-signer.ts';
import { type ParsedCertificate, parseCertificate } from '../certificate.ts';
import { issueCertificate } from '../certificate-issuer.ts';
import type { DnAttribute } from '../name.ts';
import type { ProfileId } from '../profiles.ts';
import type { TbsInput } from '../tbs-builder.ts';

export interface TestKey {
  publicKey: Uint8Array;
  signer: SmCryptoSigner;
  privateKeyHex: string;
}

export function testKey(): TestKey {
  const { privateKey, publicKey } = smCrypto.sm2.generateKeyPairHex();
  return {
    publicKey: new Uint8Array(Buffer.from(publicKey, 'hex')),
    signer: new SmCryptoSigner(privateKey, publicKey),
    privateKeyHex: privateKey,
  };
}

export interface TestCertificate {
  der: Uint8Array;
  parsed: ParsedCertificate;
  key: TestKey;
}

const YEAR_MS = 365 * 86_400_000;
const DAY_MS = 86_400_000;
/** Midnight UTC of today: fixtures move with the clock so OpenSSL's time checks pass at any date. */
export const NOT_BEFORE = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);
export const URLS = {
  crlDistributionPoints: ['http://crl.example.gov.cn/sub.crl'],
  ocspUrls: ['http://ocsp.example.gov.cn'],
  caIssuersUrls: ['http://ca.example.gov.cn/sub.cer'],
};

export function subject(cn: string, extra: DnAttribute[] = []): DnAttribute[] {
  return [
    { type: 'C', value: 'CN' },
    { type: 'O', value: '测试电子政务CA' },
    ...extra,
    { type: 'CN', value: cn },
  ];
}

export async function issue(
  profile: ProfileId,
  issuer: TestCertificate | undefined,
  extra: Partial<TbsInput> = {},
  years = 1,
): Promise<TestCertificate> {
  const key = testKey();
  const der = await issueCertificate(
    {
      profile,
      subject: subject(profile),
      publicKey: key.publicKey,
      issuer: issuer?.parsed,
      notBefore: NOT_BEFORE,
      notAfter: new Date(NOT_BEFORE.getTime() + years * YEAR_MS),
      ...(profile === 'root-ca' ? {} : URLS),
      ...extra,
    },
    (issuer?.key ?? key).signer,
  );
  return { der, parsed: parseCertificate(der), key };
}

export interface TestHierarchy {
  root: TestCertificate;
  sub: TestCertificate;
  leaf: TestCertificate;
}

/** Root (20 years) → sub-CA (10 years) → person signature certificate (1 year). */
export async function testHierarchy(): Promise<TestHierarchy> {
  const root = await issue('root-ca', undefined, {}, 20);
  const sub = await issue('sub-ca', root, {}, 10);
  const leaf = await issue('person-sign', sub, {
    identity: { identifyCode: { type: 'residentCard', value: '11010519491231002X' } },
  });
  return { root, sub, leaf };
}
