import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FUZZ_RUNS, malformedDer, throwsOnly } from '../../../test/support/fuzz.ts';
import { parseCertificate } from './certificate.ts';
import { buildCsr, parseCsr } from './csr.ts';
import { lintTbs } from './linter.ts';
import { decodeName } from './name.ts';
import { pemOrDerToDer } from './pem.ts';
import { PkiError } from './pki-error.ts';
import { testHierarchy, testKey } from './test-support/test-hierarchy.ts';

const onlyPkiErrors = (parse: (der: Uint8Array) => unknown, valid: Uint8Array[]) =>
  throwsOnly(PkiError, parse, valid);

describe('pki parsers on malformed input throw only PkiError', async () => {
  const { sub, leaf } = await testHierarchy();
  const key = testKey();
  const csr = await buildCsr(
    {
      subject: [
        { type: 'C', value: 'CN' },
        { type: 'CN', value: '张三' },
      ],
      publicKey: key.publicKey,
    },
    key.signer,
  );

  it('certificate', () => onlyPkiErrors(parseCertificate, [leaf.der, sub.der]));
  it('CSR', () => onlyPkiErrors(parseCsr, [csr]));
  it('Name', () => onlyPkiErrors(decodeName, [leaf.parsed.subject]));
  it('TBSCertificate through the linter (findings, never exceptions)', () => {
    fc.assert(
      fc.property(malformedDer([leaf.parsed.tbs]), (input) => {
        expect(Array.isArray(lintTbs(input, { profile: 'person-sign', issuer: sub.parsed }))).toBe(true);
      }),
      { numRuns: FUZZ_RUNS / 5 },
    );
  });
  it('PEM', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          pemOrDerToDer(new TextEncoder().encode(`-----BEGIN CERTIFICATE-----\n${text}`));
        } catch (err) {
          expect(err).toBeInstanceOf(PkiError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
