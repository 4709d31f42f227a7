import { join } from 'node:path';
import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema';
import { TBSCertificate, Time } from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { openssl, opensslEcKeyFile, readBytes, tempDir } from '../../../test/support/openssl-cli.ts';
import { SmCryptoSigner } from '../../../test/support/sm-crypto-signer.ts';
import type { CertificateExtension } from './certificate.ts';
import { assembleCertificate, signCertificate } from './certificate-issuer.ts';
import { basicConstraintsExtension, type KeyUsageName, keyUsageExtension } from './extensions.ts';
import { type LintFinding, lintCertificate, lintTbs } from './linter.ts';
import { encodeName } from './name.ts';
import { OIDS } from './oids.ts';
import { PkiError } from './pki-error.ts';
import { assembleTbsCertificate, type TbsFields } from './tbs-builder.ts';
import { issue, subject, type TestCertificate, testHierarchy } from './test-support/test-hierarchy.ts';

const codes = (findings: LintFinding[]) => findings.filter((f) => f.severity === 'error').map((f) => f.code);

function fieldsOf(cert: TestCertificate): TbsFields {
  const p = cert.parsed;
  return {
    version: 3,
    serialNumber: p.serialNumber,
    issuer: p.issuer,
    subject: p.subject,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    spki: p.spki,
    extensions: p.extensions,
  };
}

function replaceExtension(
  exts: readonly CertificateExtension[],
  ext: CertificateExtension,
): CertificateExtension[] {
  return exts.map((e) => (e.oid === ext.oid ? ext : e));
}

describe('linter', async () => {
  const { root, sub, leaf } = await testHierarchy();

  /** A variant of `base` re-signed by its issuer's key (or `signer`). */
  async function variant(
    base: TestCertificate,
    issuerKey: TestCertificate,
    change: Partial<TbsFields>,
    signer = issuerKey.key.signer,
  ) {
    const tbs = assembleTbsCertificate({ ...fieldsOf(base), ...change });
    return assembleCertificate(tbs, await signer.sign(tbs));
  }
  const leafWithUsage = (usages: KeyUsageName[]) =>
    variant(leaf, sub, { extensions: replaceExtension(leaf.parsed.extensions, keyUsageExtension(usages)) });

  it('accepts the untouched hierarchy', async () => {
    expect(await lintCertificate(leaf.der, { issuer: sub.der, profile: 'person-sign' })).toEqual([]);
    expect(await lintCertificate(sub.der, { issuer: root.der, profile: 'sub-ca' })).toEqual([]);
  });

  it('rejects a v1 certificate', async () => {
    const cert = await variant(leaf, sub, { version: 1 });
    expect(codes(await lintCertificate(cert, { issuer: sub.der }))).toContain('VERSION_NOT_V3');
  });

  it('rejects a non-critical keyUsage', async () => {
    const ku = { ...keyUsageExtension(['digitalSignature', 'nonRepudiation']), critical: false };
    const cert = await variant(leaf, sub, { extensions: replaceExtension(leaf.parsed.extensions, ku) });
    expect(codes(await lintCertificate(cert, { issuer: sub.der }))).toEqual(['KEY_USAGE_NOT_CRITICAL']);
  });

  it('rejects an end entity with keyCertSign', async () => {
    const cert = await leafWithUsage(['digitalSignature', 'keyCertSign']);
    expect(codes(await lintCertificate(cert, { issuer: sub.der }))).toEqual(['END_ENTITY_CA_USAGE']);
    expect(codes(await lintCertificate(cert, { issuer: sub.der, profile: 'person-sign' }))).toEqual([
      'END_ENTITY_CA_USAGE',
      'KEY_USAGE_PROFILE',
    ]);
  });

  it('rejects digitalSignature with keyEncipherment in one certificate', async () => {
    const cert = await leafWithUsage(['digitalSignature', 'keyEncipherment']);
    expect(codes(await lintCertificate(cert, { issuer: sub.der }))).toEqual(['KEY_USAGE_MIXED']);
  });

  it('rejects a CA with non-critical basicConstraints', async () => {
    const bc = { ...basicConstraintsExtension(true, 0), critical: false };
    const cert = await variant(sub, root, { extensions: replaceExtension(sub.parsed.extensions, bc) });
    expect(codes(await lintCertificate(cert, { issuer: root.der, profile: 'sub-ca' }))).toEqual([
      'BASIC_CONSTRAINTS_NOT_CRITICAL',
    ]);
  });

  it('rejects a signature made with the empty signer ID, and one by another key', async () => {
    const emptyId = new SmCryptoSigner(
      sub.key.privateKeyHex,
      Buffer.from(sub.key.publicKey).toString('hex'),
      '',
    );
    const cert = await variant(leaf, sub, {}, emptyId);
    expect(codes(await lintCertificate(cert, { issuer: sub.der }))).toEqual(['SIGNATURE_EMPTY_SIGNER_ID']);
    const forged = await variant(leaf, sub, {}, root.key.signer);
    expect(codes(await lintCertificate(forged, { issuer: sub.der }))).toEqual(['SIGNATURE_INVALID']);
  });

  it('rejects an ECDSA-signed certificate', async () => {
    const dir = tempDir();
    opensslEcKeyFile(dir, 'k.pem', 'P-256');
    openssl(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        join(dir, 'k.pem'),
        '-sha256',
        '-subj',
        '/C=CN/CN=ecdsa',
        '-days',
        '30',
      ].concat(['-outform', 'DER', '-out', join(dir, 'c.der')]),
    );
    const found = codes(await lintCertificate(readBytes(join(dir, 'c.der'))));
    expect(found).toContain('ALGORITHM_NOT_SM2_WITH_SM3');
    expect(found).toContain('SPKI_NOT_SM2');
  });

  it('rejects a 2-byte serial number, and the CA refuses to sign it', async () => {
    const cert = await variant(leaf, sub, { serialNumber: Uint8Array.of(0x12, 0x34) });
    expect(codes(await lintCertificate(cert, { issuer: sub.der }))).toEqual(['SERIAL_TOO_SHORT']);
    const tbs = assembleTbsCertificate({ ...fieldsOf(leaf), serialNumber: Uint8Array.of(0x12, 0x34) });
    await expect(signCertificate(tbs, sub.key.signer, { issuer: sub.parsed })).rejects.toMatchObject({
      code: 'LINT_FAILED',
    });
  });

  it('rejects a wrong issuer: name, AKI and signature', async () => {
    expect(codes(await lintCertificate(leaf.der, { issuer: root.der }))).toEqual([
      'AKI_MISMATCH',
      'ISSUER_NAME_MISMATCH',
      'SIGNATURE_INVALID',
    ]);
  });

  it('rejects GeneralizedTime before 2050', () => {
    const tbs = AsnParser.parse(leaf.parsed.tbs, TBSCertificate);
    tbs.validity.notBefore = new Time({ generalTime: leaf.parsed.notBefore });
    const der = new Uint8Array(AsnSerializer.serialize(tbs));
    expect(codes(lintTbs(der, { issuer: sub.parsed }))).toEqual(['VALIDITY_ENCODING']);
  });

  it('refuses to sign a CA certificate under a pathLen-0 CA', async () => {
    await expect(issue('sub-ca', sub, { subject: subject('sub-sub') })).rejects.toMatchObject({
      code: 'LINT_FAILED',
    });
  });

  it('rejects DN string types other than PrintableString for C', () => {
    const utf8Country = encodeName([{ type: 'O', value: 'CN' }]);
    expect(utf8Country[10]).toBe(0x0a);
    utf8Country[10] = 0x06; // O (2.5.4.10) → C (2.5.4.6); the value stays UTF8String
    const tbs = assembleTbsCertificate({ ...fieldsOf(leaf), subject: utf8Country });
    expect(codes(lintTbs(tbs, { issuer: sub.parsed }))).toEqual(['DN_STRING_TYPE']);
  });

  it('rejects a malformed identity extension and an unknown critical extension', () => {
    const extensions = [
      ...leaf.parsed.extensions,
      { oid: OIDS.taxationNumber, critical: false, value: Uint8Array.of(0x0c, 0x01, 0x41) },
      { oid: '1.2.3.4', critical: true, value: Uint8Array.of(0x05, 0x00) },
    ];
    const tbs = assembleTbsCertificate({ ...fieldsOf(leaf), extensions });
    expect(codes(lintTbs(tbs))).toEqual(['EXTENSION_UNKNOWN_CRITICAL', 'IDENTITY_EXTENSION_MALFORMED']);
  });

  it('reports a malformed certificate as a finding, not an exception', async () => {
    expect(codes(await lintCertificate(leaf.der.subarray(0, 100)))).toEqual(['CERT_MALFORMED']);
    expect(() => lintTbs(leaf.parsed, { issuer: Uint8Array.of(1, 2, 3) })).toThrow(PkiError);
  });
});
