import { toHex } from '@sm2ca/gm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FUZZ_RUNS, malformedDer } from '../../../../test/support/fuzz.ts';
import { derTlv, TAG_SEQUENCE } from '../crl-der-writer.ts';
import { PkiError } from '../pki-error.ts';
import { testEnvelope } from '../test-support/km-messages.ts';
import { issue, testHierarchy } from '../test-support/test-hierarchy.ts';
import { decodeCsrResponse, encodeCsrResponse } from './csr-response.ts';

/** The SEQUENCE's content octets (DER with a short or long length). */
function content(der: Uint8Array): Uint8Array {
  const first = der[1]!;
  return der.subarray(first & 0x80 ? 2 + (first & 0x7f) : 2);
}

describe('GM/T 0092 CSRResponse', async () => {
  const { sub, leaf } = await testHierarchy();
  const encrypt = await issue('person-encrypt', sub);
  const envelopedKey = testEnvelope(leaf.key.publicKey).der;
  const full = { signCertificate: leaf.der, envelopedKey, encryptCertificate: encrypt.der };

  it('round-trips with and without the optional parts', () => {
    for (const r of [full, { signCertificate: leaf.der }, { signCertificate: leaf.der, envelopedKey }]) {
      expect(decodeCsrResponse(encodeCsrResponse(r))).toEqual(r);
    }
  });

  it('writes [0] and [1] IMPLICIT', () => {
    const expected = derTlv(
      TAG_SEQUENCE,
      leaf.der,
      derTlv(0xa0, content(envelopedKey)),
      derTlv(0xa1, content(encrypt.der)),
    );
    expect(toHex(encodeCsrResponse(full))).toBe(toHex(expected));
  });

  it('also reads [0] and [1] EXPLICIT', () => {
    const explicit = derTlv(TAG_SEQUENCE, leaf.der, derTlv(0xa0, envelopedKey), derTlv(0xa1, encrypt.der));
    expect(decodeCsrResponse(explicit)).toEqual(full);
  });

  it('refuses fields out of order, repeated, or not what they say', () => {
    const bad = [
      derTlv(TAG_SEQUENCE, leaf.der, derTlv(0xa1, content(encrypt.der)), derTlv(0xa0, content(envelopedKey))),
      derTlv(
        TAG_SEQUENCE,
        leaf.der,
        derTlv(0xa0, content(envelopedKey)),
        derTlv(0xa0, content(envelopedKey)),
      ),
      derTlv(TAG_SEQUENCE, leaf.der, derTlv(0xa0, content(encrypt.der))),
      derTlv(TAG_SEQUENCE, envelopedKey),
      derTlv(TAG_SEQUENCE, leaf.der, derTlv(0xa2, content(encrypt.der))),
    ];
    for (const der of bad) {
      expect(() => decodeCsrResponse(der)).toThrow(
        expect.objectContaining({ code: 'CSR_RESPONSE_MALFORMED' }),
      );
    }
    expect(() => encodeCsrResponse({ signCertificate: envelopedKey })).toThrow(
      expect.objectContaining({ code: 'CSR_RESPONSE_INVALID' }),
    );
    expect(() => encodeCsrResponse({ signCertificate: leaf.der, envelopedKey: leaf.der })).toThrow(
      expect.objectContaining({ code: 'CSR_RESPONSE_INVALID' }),
    );
  });

  it('gives only CSR_RESPONSE_MALFORMED on truncated, mutated or random input', () => {
    fc.assert(
      fc.property(malformedDer([encodeCsrResponse(full)]), (input) => {
        try {
          decodeCsrResponse(input);
        } catch (err) {
          expect(err).toBeInstanceOf(PkiError);
          expect((err as PkiError).code).toBe('CSR_RESPONSE_MALFORMED');
        }
      }),
      { numRuns: FUZZ_RUNS / 5 },
    );
  });
});
