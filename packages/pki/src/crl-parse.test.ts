import { describe, expect, it } from 'vitest';
import { buildCrl } from './crl-builder.ts';
import { parseCrl } from './crl-parse.ts';
import { CrlReason } from './crl-reason.ts';
import { PkiError } from './pki-error.ts';
import { fuzzParser } from './test-support/fuzz.ts';

const dummySigner = { signParts: async () => Buffer.from('3006020101020101', 'hex') };
const issuerName = Buffer.from('30203111300f06035504030c0842656e6368204341310b300906035504061302434e', 'hex');

const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY) * DAY;

async function sampleCrl(): Promise<Buffer> {
  const parts = await buildCrl(
    {
      issuerName,
      authorityKeyIdentifier: Buffer.alloc(20, 1),
      crlNumber: 9n,
      baseCrlNumber: 8n,
      thisUpdate: new Date(today),
      nextUpdate: new Date(today + DAY),
      issuingDistributionPoint: { uris: ['http://crl.example.cn/1.crl'], onlyContainsUserCerts: true },
    },
    [
      { serial: 5n, revocationDate: new Date(today - DAY), reason: CrlReason.removeFromCRL },
      {
        serial: 6n,
        revocationDate: new Date(today - DAY),
        invalidityDate: new Date(today - 2 * DAY),
      },
    ],
    dummySigner,
  );
  return Buffer.concat(parts);
}

function parseFully(data: Uint8Array): void {
  const crl = parseCrl(data);
  for (const _ of crl.entries());
}

describe('parseCrl', () => {
  it('rejects truncation, wrong tags, huge lengths and trailing bytes with CRL_MALFORMED', async () => {
    const der = await sampleCrl();
    const bad = [
      der.subarray(0, der.length - 1),
      Buffer.concat([der, Buffer.of(0)]),
      Buffer.concat([Buffer.of(0x31), der.subarray(1)]),
      Buffer.from('3084ffffffff', 'hex'),
      Buffer.from('3080', 'hex'),
      Buffer.alloc(0),
    ];
    for (const data of bad) {
      expect(() => parseFully(data)).toThrow(PkiError);
      try {
        parseFully(data);
      } catch (err) {
        expect((err as PkiError).code).toBe('CRL_MALFORMED');
      }
    }
  });

  it('throws nothing but PkiError on 10,000 random and mutated inputs', async () => {
    fuzzParser(parseFully, await sampleCrl());
  });
});
