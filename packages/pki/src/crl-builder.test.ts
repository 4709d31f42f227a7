import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../../../test/support/openssl-ca.ts';
import { openssl, opensslOutput, opensslVerifiesSm2Signature } from '../../../test/support/openssl-cli.ts';
import { smCryptoVerifier } from '../../../test/support/sm-crypto-signer.ts';
import { buildCrl as buildCrlParts, type CrlOptions } from './crl-builder.ts';
import type { CrlEntry } from './crl-entry-writer.ts';
import { parseCrl, verifyCrlSignature } from './crl-parse.ts';
import { CrlReason } from './crl-reason.ts';
import { PkiError } from './pki-error.ts';
import { sm2Verifier } from './sm2-verifier.ts';

let ca: TestCa;
beforeAll(() => {
  ca = createTestCa();
});
afterAll(() => ca.dispose());

const HOUR = 3_600_000;
// Relative to now, so no CRL of the suite is ever stale whatever the clock says.
const thisUpdate = new Date(Math.floor(Date.now() / HOUR) * HOUR);
const nextUpdate = new Date(thisUpdate.getTime() + 24 * HOUR);
const hoursBefore = (hours: number) => new Date(thisUpdate.getTime() - hours * HOUR);

/** A time as `openssl crl -text` prints it: "Nov  2 08:00:00 2026 GMT". */
function opensslTime(date: Date): string {
  const [, day, month, year, time] = date.toUTCString().match(/^\w+, (\d+) (\w+) (\d+) (\S+)/)!;
  return `${month} ${String(Number(day)).padStart(2, ' ')} ${time} ${year} GMT`;
}

function options(extra: Partial<CrlOptions> = {}): CrlOptions {
  return {
    issuerName: ca.subjectDer,
    authorityKeyIdentifier: ca.subjectKeyIdentifier,
    crlNumber: 42n,
    thisUpdate,
    nextUpdate,
    ...extra,
  };
}

const fullEntries: CrlEntry[] = [
  { serial: 0x1234n, revocationDate: hoursBefore(22), reason: CrlReason.keyCompromise },
  {
    serial: Buffer.from('00ff00112233445566778899', 'hex'),
    revocationDate: hoursBefore(21),
    reason: CrlReason.certificateHold,
    invalidityDate: hoursBefore(56),
  },
  { serial: (1n << 159n) - 1n, revocationDate: new Date('2051-03-04T05:06:07Z') },
  { serial: 7n, revocationDate: hoursBefore(20), reason: CrlReason.unspecified },
];

function writeTemp(name: string, data: Uint8Array): string {
  const path = join(ca.dir, name);
  writeFileSync(path, data);
  return path;
}

/** The CRL as one buffer, as it is archived and served. */
async function buildCrl(...args: Parameters<typeof buildCrlParts>): Promise<Buffer> {
  return Buffer.concat(await buildCrlParts(...args));
}

describe('buildCrl', () => {
  it('builds a full CRL that parses back, verifies, and is canonical DER', async () => {
    const der = await buildCrl(
      options({ freshestCrlUris: ['http://crl.example.cn/delta.crl'] }),
      fullEntries,
      ca.signer,
    );
    expect(Buffer.from(AsnSerializer.serialize(AsnParser.parse(der, CertificateList)))).toEqual(der);

    const crl = parseCrl(der);
    expect(crl.version).toBe(2);
    expect(crl.issuer).toEqual(ca.subjectDer);
    expect(crl.thisUpdate).toEqual(thisUpdate);
    expect(crl.nextUpdate).toEqual(nextUpdate);
    expect(crl.crlNumber).toBe(42n);
    expect(crl.baseCrlNumber).toBeUndefined();
    expect(crl.authorityKeyIdentifier).toEqual(ca.subjectKeyIdentifier);
    expect(crl.entryCount).toBe(4);
    expect([...crl.entries()]).toEqual([
      { serial: 0x1234n, revocationDate: fullEntries[0]!.revocationDate, reason: CrlReason.keyCompromise },
      {
        serial: 0xff00112233445566778899n,
        revocationDate: fullEntries[1]!.revocationDate,
        reason: CrlReason.certificateHold,
        invalidityDate: fullEntries[1]!.invalidityDate,
      },
      { serial: (1n << 159n) - 1n, revocationDate: fullEntries[2]!.revocationDate },
      { serial: 7n, revocationDate: fullEntries[3]!.revocationDate },
    ]);
    expect(await verifyCrlSignature(crl, ca.spkiDer, smCryptoVerifier)).toBe(true);
    expect(await verifyCrlSignature(crl, ca.spkiDer, sm2Verifier)).toBe(true);
    const tampered = Buffer.from(der);
    const at = tampered.indexOf(Buffer.from('Test CA'));
    tampered[at] = tampered[at]! ^ 1;
    expect(await verifyCrlSignature(parseCrl(tampered), ca.spkiDer, smCryptoVerifier)).toBe(false);

    const text = openssl(
      ['crl', '-inform', 'DER', '-in', writeTemp('full.crl', der), '-text', '-noout'],
      ca.dir,
    ).toString();
    expect(text).toContain('Version 2 (0x1)');
    expect(text).toContain('Signature Algorithm: SM2-with-SM3');
    expect(text).toContain('X509v3 CRL Number: \n                42');
    expect(text).toContain('X509v3 Freshest CRL');
    expect(text).toContain('Key Compromise');
    expect(text).toContain('Certificate Hold');
    expect(text).toContain('Invalidity Date');
    expect(text).toContain('Revocation Date: Mar  4 05:06:07 2051 GMT');
    expect(text).toContain(`Next Update: ${opensslTime(nextUpdate)}`);
  });

  it('signs under the GM default ID: OpenSSL accepts it with distid, and its CRL check needs the empty ID', async () => {
    const der = await buildCrl(options(), fullEntries, ca.signer);
    const crl = parseCrl(der);
    writeTemp('tbs.bin', crl.tbsCertList);
    writeTemp('sig.bin', crl.signature);
    openssl(['x509', '-in', 'ca.pem', '-pubkey', '-noout', '-out', 'ca.pub'], ca.dir);
    expect(opensslVerifiesSm2Signature(ca.dir, 'ca.pub', 'sig.bin', 'tbs.bin')).toBe(true);

    // OpenSSL 3.0 `crl -CAfile` has no way to set the ID, so it only accepts an empty-ID signature.
    writeTemp('default-id.crl', der);
    const check = (file: string) =>
      opensslOutput(['crl', '-inform', 'DER', '-in', file, '-CAfile', 'ca.pem', '-noout'], ca.dir);
    expect(check('default-id.crl')).toContain('verify failure');
    writeTemp('empty-id.crl', await buildCrl(options(), fullEntries, ca.emptyIdSigner));
    expect(check('empty-id.crl')).toContain('verify OK');
  });

  it('builds a delta CRL for a partition with removeFromCRL', async () => {
    const der = await buildCrl(
      options({
        crlNumber: 43n,
        baseCrlNumber: 42n,
        issuingDistributionPoint: { uris: ['http://crl.example.cn/p7.crl'], onlyContainsUserCerts: true },
      }),
      [
        {
          serial: 0x1234n,
          revocationDate: hoursBefore(22),
          reason: CrlReason.removeFromCRL,
        },
        {
          serial: 0x99n,
          revocationDate: hoursBefore(1),
          reason: CrlReason.certificateHold,
        },
      ],
      ca.signer,
    );
    const crl = parseCrl(der);
    expect(crl.crlNumber).toBe(43n);
    expect(crl.baseCrlNumber).toBe(42n);
    expect(crl.issuingDistributionPoint).toEqual({
      uris: ['http://crl.example.cn/p7.crl'],
      onlyContainsUserCerts: true,
      onlyContainsCACerts: false,
      onlyContainsAttributeCerts: false,
      indirectCrl: false,
    });
    expect(crl.extensions.filter((e) => e.critical).map((e) => e.oid)).toEqual(['2.5.29.27', '2.5.29.28']);
    expect([...crl.entries()].map((e) => e.reason)).toEqual([
      CrlReason.removeFromCRL,
      CrlReason.certificateHold,
    ]);
    expect(await verifyCrlSignature(crl, ca.spkiDer, smCryptoVerifier)).toBe(true);

    const text = openssl(
      ['crl', '-inform', 'DER', '-in', writeTemp('delta.crl', der), '-text', '-noout'],
      ca.dir,
    ).toString();
    expect(text).toContain('X509v3 Delta CRL Indicator: critical');
    expect(text).toContain('X509v3 Issuing Distribution Point: critical');
    expect(text).toContain('URI:http://crl.example.cn/p7.crl');
    expect(text).toContain('Only User Certificates');
    expect(text).toContain('Remove From CRL');
  });

  it('omits revokedCertificates when there are no entries', async () => {
    const der = await buildCrl(options(), [], ca.signer);
    const parsed = AsnParser.parse(der, CertificateList);
    expect(parsed.tbsCertList.revokedCertificates).toBeUndefined();
    expect(parseCrl(der).entryCount).toBe(0);
    const text = openssl(
      ['crl', '-inform', 'DER', '-in', writeTemp('empty.crl', der), '-text', '-noout'],
      ca.dir,
    ).toString();
    expect(text).toContain('No Revoked Certificates');
  });

  it('streams entries from an async iterable, in megabyte parts signed one after another', async () => {
    const count = 40_000;
    const reasons = [undefined, CrlReason.keyCompromise, CrlReason.superseded, CrlReason.certificateHold];
    async function* entries(): AsyncGenerator<CrlEntry> {
      for (let i = 1; i <= count; i++) {
        yield {
          serial: BigInt(i) * 0x1000000000001n,
          revocationDate: new Date(thisUpdate.getTime() - i * 1000),
          reason: reasons[i % reasons.length]!,
        };
      }
    }
    const parts = await buildCrlParts(options(), entries(), ca.signer);
    expect(parts.filter((part) => part.length > 100_000).length).toBeGreaterThan(1);
    const der = Buffer.concat(parts);
    const crl = parseCrl(der);
    expect(crl.entryCount).toBe(count);
    expect(await verifyCrlSignature(crl, ca.spkiDer, smCryptoVerifier)).toBe(true);
    let i = 0;
    for (const entry of crl.entries()) {
      i++;
      expect(entry.serial).toBe(BigInt(i) * 0x1000000000001n);
      expect(entry.revocationDate.getTime()).toBe(thisUpdate.getTime() - i * 1000);
    }
    expect(i).toBe(count);
    // The schema library refuses CRLs this large (node limit), so OpenSSL checks the encoding.
    const text = openssl(
      ['crl', '-inform', 'DER', '-in', writeTemp('big.crl', der), '-text', '-noout'],
      ca.dir,
    ).toString();
    expect(text.match(/Serial Number: /g)).toHaveLength(count);
  });

  it('rejects invalid input with PkiError', async () => {
    const date = hoursBefore(22);
    const cases: [Partial<CrlOptions>, CrlEntry[], string][] = [
      [{}, [{ serial: 1n, revocationDate: date, reason: CrlReason.removeFromCRL }], 'CRL_INVALID_ENTRY'],
      [{}, [{ serial: 1n << 160n, revocationDate: date }], 'CRL_INVALID_ENTRY'],
      [{}, [{ serial: 1n, revocationDate: date, reason: 7 as CrlReason }], 'CRL_INVALID_ENTRY'],
      [{}, [{ serial: -1n, revocationDate: date }], 'INVALID_INTEGER'],
      [{}, [{ serial: 1n, revocationDate: new Date(Number.NaN) }], 'INVALID_TIME'],
      [{ nextUpdate: thisUpdate }, [], 'CRL_INVALID_OPTIONS'],
      [{ crlNumber: 5n, baseCrlNumber: 5n }, [], 'CRL_INVALID_OPTIONS'],
      [{ issuerName: Buffer.from('0c0141', 'hex') }, [], 'CRL_INVALID_OPTIONS'],
    ];
    for (const [extra, entries, code] of cases) {
      const error = await buildCrl(options(extra), entries, ca.signer).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PkiError);
      expect((error as PkiError).code).toBe(code);
    }
  });
});
