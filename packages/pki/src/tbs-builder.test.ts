import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  gmDistId,
  openssl,
  opensslVerifiesSm2Signature,
  tempDir,
} from '../../../test/support/openssl-cli.ts';
import { findExtension, parseTbsCertificate } from './certificate.ts';
import { decodeBasicConstraints, decodeKeyUsage } from './extensions.ts';
import { decodeIdentityExtensions } from './identity-extensions.ts';
import { lintCertificate } from './linter.ts';
import { OIDS } from './oids.ts';
import { derToPem } from './pem.ts';
import { PROFILES, type ProfileId } from './profiles.ts';
import { buildTbsCertificate, planTbsCertificate, type TbsInput } from './tbs-builder.ts';
import { issue, NOT_BEFORE, subject, testHierarchy, testKey, URLS } from './test-support/test-hierarchy.ts';

describe('certificates built from profiles', async () => {
  const { root, sub, leaf } = await testHierarchy();

  // OpenSSL 3.0 applies -vfyopt distid only to the target certificate and to no other chain
  // member or self-signature (openssl/openssl#23471, #32744), so a chain signed under the GM
  // default ID is checked link by link, each link as the target, and the root via dgst.
  it('pass OpenSSL verification under the GM default ID, link by link, and parse in x509 -text', () => {
    const dir = tempDir();
    const path = (name: string) => join(dir, name);
    for (const [name, cert] of Object.entries({ root, sub, leaf })) {
      writeFileSync(path(`${name}.pem`), derToPem(cert.der, 'CERTIFICATE'));
    }
    const at = ['-attime', String(NOT_BEFORE.getTime() / 1000 + 86_400)];
    const verify = (...args: string[]) =>
      new TextDecoder().decode(openssl(['verify', '-vfyopt', gmDistId, ...at, ...args]));
    expect(verify('-CAfile', path('root.pem'), path('sub.pem'))).toContain('sub.pem: OK');
    expect(verify('-partial_chain', '-CAfile', path('sub.pem'), path('leaf.pem'))).toContain('leaf.pem: OK');

    writeFileSync(path('root.tbs'), root.parsed.tbs);
    writeFileSync(path('root.sig'), root.parsed.signature);
    openssl(['x509', '-in', path('root.pem'), '-pubkey', '-noout', '-out', path('root.pub')]);
    expect(opensslVerifiesSm2Signature(dir, 'root.pub', 'root.sig', 'root.tbs')).toBe(true);

    const text = new TextDecoder().decode(openssl(['x509', '-text', '-noout', '-in', path('leaf.pem')]));
    expect(text).toContain('Signature Algorithm: SM2-with-SM3');
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Non Repudiation/);
    expect(text).toContain('URI:http://crl.example.gov.cn/sub.crl');
  });

  it('copy the issuer name byte for byte and chain AKI to the issuer SKI', () => {
    expect(leaf.parsed.issuer).toEqual(sub.parsed.subject);
    expect(sub.parsed.issuer).toEqual(root.parsed.subject);
    const ski = findExtension(sub.parsed, OIDS.subjectKeyIdentifier)!.value.subarray(2);
    const aki = findExtension(leaf.parsed, OIDS.authorityKeyIdentifier)!.value;
    expect(Buffer.from(aki).includes(Buffer.from(ski))).toBe(true);
  });

  it('are v3 with a positive 64..160-bit serial and SM2-with-SM3 without parameters', () => {
    for (const cert of [root, sub, leaf]) {
      expect(cert.parsed.version).toBe(3);
      expect(cert.parsed.serialNumber.length).toBeGreaterThanOrEqual(8);
      expect(cert.parsed.serialNumber[0]! & 0x80).toBe(0);
      expect(cert.parsed.tbsSignatureAlgorithm).toEqual({ oid: OIDS.sm2WithSm3 });
    }
    expect(decodeBasicConstraints(findExtension(sub.parsed, OIDS.basicConstraints)!.value)).toEqual({
      ca: true,
      pathLen: 0,
    });
    expect(decodeIdentityExtensions(leaf.parsed.extensions).identifyCode).toEqual({
      type: 'residentCard',
      value: '11010519491231002X',
    });
  });

  it('switch to GeneralizedTime from 2050', async () => {
    // Fixed dates on purpose: this checks the encoding boundary, not the clock.
    const longRoot = await issue('root-ca', undefined, {
      notBefore: new Date(Date.UTC(2040, 0, 1)),
      notAfter: new Date(Date.UTC(2060, 0, 1)),
    });
    const late = await issue('sub-ca', longRoot, {
      notBefore: new Date(Date.UTC(2045, 0, 1)),
      notAfter: new Date(Date.UTC(2051, 0, 1)),
    });
    expect(late.parsed.notBeforeType).toBe('utcTime');
    expect(late.parsed.notAfterType).toBe('generalTime');
  });

  it.each(Object.keys(PROFILES).filter((p) => p !== 'root-ca') as ProfileId[])(
    'lint clean: %s',
    async (profile) => {
      const extra = {
        'tls-server': { subjectAltName: { dns: ['www.example.gov.cn'], ip: ['10.0.0.1'] } },
        'organization-sign': {
          identity: { unifiedSocialCreditCode: '91350100M000100Y43', organizationCode: 'M0001004-3' },
        },
        'person-encrypt': { identity: { insuranceNumber: '110105194912310021' } },
      } as Record<string, Partial<TbsInput>>;
      const cert = await issue(profile, profile === 'sub-ca' ? root : sub, extra[profile] ?? {});
      const findings = await lintCertificate(cert.der, {
        profile,
        issuer: profile === 'sub-ca' ? root.der : sub.der,
      });
      expect(findings).toEqual([]);
      const usages = decodeKeyUsage(findExtension(cert.parsed, OIDS.keyUsage)!.value);
      expect([...usages].sort()).toEqual([...PROFILES[profile].keyUsage].sort());
    },
  );

  it('plan the fields that parsing the built TBSCertificate reads back', () => {
    // Fixed dates on purpose: fractions of a second are dropped, a bound from 2050 on is a GeneralizedTime.
    const notBefore = new Date(Date.UTC(2045, 0, 1, 0, 0, 0, 750));
    for (const [profile, issuer, notAfter] of [
      ['person-sign', sub, new Date(NOT_BEFORE.getTime() + 86_400_000)],
      ['root-ca', undefined, new Date(Date.UTC(2051, 0, 1))],
      ['tls-server', sub, new Date(NOT_BEFORE.getTime() + 86_400_000)],
    ] as const) {
      const plan = planTbsCertificate({
        profile,
        subject: subject(profile),
        publicKey: testKey().publicKey,
        issuer: issuer?.parsed,
        notBefore: issuer ? NOT_BEFORE : notBefore,
        notAfter,
        serialNumber: Uint8Array.of(0x80, 0x01),
        ...(issuer ? URLS : {}),
        ...(profile === 'tls-server' ? { subjectAltName: { dns: ['www.example.gov.cn'] } } : {}),
        ...(profile === 'person-sign'
          ? { identity: { identifyCode: { type: 'residentCard', value: '11010519491231002X' } } }
          : {}),
      } as TbsInput);
      expect(plan).toEqual(parseTbsCertificate(plan.tbs));
    }
  });

  it('lint clean: root-ca (self-signature checked)', async () => {
    expect(await lintCertificate(root.der, { profile: 'root-ca' })).toEqual([]);
  });

  it('refuse input that does not fit the profile', () => {
    const base = {
      subject: subject('x'),
      publicKey: testKey().publicKey,
      issuer: sub.parsed,
      notBefore: NOT_BEFORE,
      notAfter: new Date(NOT_BEFORE.getTime() + 365 * 86_400_000),
      crlDistributionPoints: ['http://crl'],
    };
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return undefined;
    };
    expect(code(() => buildTbsCertificate({ ...base, profile: 'root-ca' }))).toBe('PROFILE_ISSUER');
    expect(
      code(() =>
        buildTbsCertificate({
          ...base,
          profile: 'person-sign',
          notAfter: new Date(NOT_BEFORE.getTime() + 8 * 365 * 86_400_000),
        }),
      ),
    ).toBe('VALIDITY_TOO_LONG');
    expect(
      code(() => buildTbsCertificate({ ...base, profile: 'person-sign', crlDistributionPoints: [] })),
    ).toBe('PROFILE_EXTENSION_MISSING');
    expect(
      code(() => buildTbsCertificate({ ...base, profile: 'device-sign', identity: { taxationNumber: '1' } })),
    ).toBe('PROFILE_IDENTITY_NOT_ALLOWED');
    expect(code(() => buildTbsCertificate({ ...base, profile: 'tls-server' }))).toBe(
      'PROFILE_EXTENSION_MISSING',
    );
    expect(
      code(() =>
        buildTbsCertificate({ ...base, profile: 'person-sign', subject: [{ type: 'CN', value: 'x' }] }),
      ),
    ).toBe('PROFILE_SUBJECT');
    expect(
      code(() => buildTbsCertificate({ ...base, profile: 'person-sign', publicKey: new Uint8Array(65) })),
    ).toBe('PUBLIC_KEY_INVALID');
  });
});
