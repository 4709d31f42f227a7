import { describe, it } from 'vitest';
import { throwsOnly } from '../../../test/support/fuzz.ts';
import { fromHex } from './bytes.ts';
import { GmError } from './gm-error.ts';
import { decodeSm2Ciphertext } from './sm2-ciphertext.ts';
import { decodeSm2EnvelopedKey, encodeSm2EnvelopedKey } from './sm2-enveloped-key.ts';
import { decodeSm2Signature } from './sm2-signature.ts';
import { decodeSm2Spki, encodeSm2Spki } from './sm2-spki.ts';

const PUBLIC = fromHex(
  '0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020' +
    'ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13',
);
const SIGNATURE = fromHex(
  '3046022100f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3' +
    '022100b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa',
);
const CIPHERTEXT = fromHex(
  '307c022004ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73022100e858f9d81e5430a57b36daab8f950a' +
    '3c64e6ee6a63094d99283aff767e124df0042059983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766041321' +
    '886ca989ca9c7d58087307ca93092d651efa',
);

const onlyGmErrors = (parse: (der: Uint8Array) => unknown, valid: Uint8Array[]) =>
  throwsOnly(GmError, parse, valid);

describe('gm parsers on malformed input throw only GmError', () => {
  it('SM2 signature', () => onlyGmErrors(decodeSm2Signature, [SIGNATURE]));
  it('SM2 ciphertext', () => onlyGmErrors(decodeSm2Ciphertext, [CIPHERTEXT]));
  it('SPKI', () => onlyGmErrors(decodeSm2Spki, [encodeSm2Spki(PUBLIC)]));
  it('SM2EnvelopedKey', () => {
    const envelope = encodeSm2EnvelopedKey({
      encryptedSymmetricKey: decodeSm2Ciphertext(CIPHERTEXT),
      publicKey: PUBLIC,
      encryptedPrivateKey: new Uint8Array(32).fill(1),
    });
    onlyGmErrors(decodeSm2EnvelopedKey, [envelope]);
  });
});
