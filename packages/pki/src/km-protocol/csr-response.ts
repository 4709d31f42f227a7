import { decodeSm2EnvelopedKey } from '@sm2ca/gm';
import { parseCertificate } from '../certificate.ts';
import { childrenOf, readTlv, type Tlv } from '../crl-der-reader.ts';
import { derTlv, TAG_SEQUENCE } from '../crl-der-writer.ts';
import { malformed } from '../malformed.ts';
import { PkiError } from '../pki-error.ts';

/** What a holder downloads after a dual enrollment (GM/T 0092), all DER. */
export interface CsrResponse {
  signCertificate: Uint8Array;
  /** SM2EnvelopedKey (GM/T 0009) of the encryption key, to the signature certificate's key. */
  envelopedKey?: Uint8Array;
  encryptCertificate?: Uint8Array;
}

const TAG_ENVELOPED_KEY = 0xa0;
const TAG_ENCRYPT_CERTIFICATE = 0xa1;

/**
 * CSRResponse ::= SEQUENCE { signCertificate Certificate,
 *   encryptedPrivateKey [0] IMPLICIT SM2EnvelopedKey OPTIONAL,
 *   encryptCertificate [1] IMPLICIT Certificate OPTIONAL }
 * GM/T 0092-2020 as GM-NOTES has it; the tagging mode is not confirmed by any public source we
 * found. We write IMPLICIT (as GM/T 0010 and PKCS #7 tag their optional fields) and read both:
 * the [0]/[1] contents are then either one SEQUENCE (EXPLICIT) or the fields of one.
 */
export function encodeCsrResponse(r: CsrResponse): Uint8Array {
  const parts = [checkedCertificate(r.signCertificate, 'signCertificate')];
  if (r.envelopedKey) parts.push(implicit(TAG_ENVELOPED_KEY, checkedEnvelope(r.envelopedKey)));
  if (r.encryptCertificate) {
    parts.push(
      implicit(TAG_ENCRYPT_CERTIFICATE, checkedCertificate(r.encryptCertificate, 'encryptCertificate')),
    );
  }
  return new Uint8Array(derTlv(TAG_SEQUENCE, ...parts));
}

/** Throws PkiError(CSR_RESPONSE_MALFORMED) for anything that is not a CSRResponse. */
export function decodeCsrResponse(input: Uint8Array): CsrResponse {
  return malformed('CSR_RESPONSE_MALFORMED', 'CSRResponse', () => {
    // A plain copy: slices of a Buffer would be Buffers sharing the caller's memory.
    const der = new Uint8Array(input);
    const outer = readTlv(der, 0, der.length);
    if (outer.tag !== TAG_SEQUENCE) throw new Error('not a SEQUENCE');
    if (outer.end !== der.length) throw new Error('trailing bytes after CSRResponse');
    const [sign, ...rest] = childrenOf(der, outer);
    if (!sign || sign.tag !== TAG_SEQUENCE) throw new Error('no signCertificate');
    const out: CsrResponse = { signCertificate: certificateAt(der.slice(sign.start, sign.end)) };
    let nextTag = TAG_ENVELOPED_KEY;
    for (const field of rest) {
      if (field.tag < nextTag || field.tag > TAG_ENCRYPT_CERTIFICATE) {
        throw new Error(`unexpected or out-of-order field 0x${field.tag.toString(16)}`);
      }
      nextTag = field.tag + 1;
      const inner = untagged(der, field);
      if (field.tag === TAG_ENVELOPED_KEY) {
        decodeSm2EnvelopedKey(inner);
        out.envelopedKey = inner;
      } else {
        out.encryptCertificate = certificateAt(inner);
      }
    }
    return out;
  });
}

/** The tagged field's value as a plain SEQUENCE, whether it came tagged EXPLICIT or IMPLICIT. */
function untagged(der: Uint8Array, field: Tlv): Uint8Array {
  const children = childrenOf(der, field);
  const only = children[0];
  if (children.length === 1 && only?.tag === TAG_SEQUENCE) return der.slice(only.start, only.end);
  return new Uint8Array(derTlv(TAG_SEQUENCE, der.subarray(field.contentStart, field.end)));
}

function implicit(tag: number, sequence: Uint8Array): Uint8Array {
  const tlv = readTlv(sequence, 0, sequence.length);
  return new Uint8Array(derTlv(tag, sequence.subarray(tlv.contentStart, tlv.end)));
}

function certificateAt(der: Uint8Array): Uint8Array {
  parseCertificate(der);
  return der;
}

function checkedCertificate(der: Uint8Array, what: string): Uint8Array {
  try {
    return certificateAt(der);
  } catch (err) {
    throw new PkiError('CSR_RESPONSE_INVALID', `${what} is not a certificate: ${(err as Error).message}`);
  }
}

function checkedEnvelope(der: Uint8Array): Uint8Array {
  try {
    decodeSm2EnvelopedKey(der);
    return der;
  } catch (err) {
    throw new PkiError(
      'CSR_RESPONSE_INVALID',
      `envelopedKey is not an SM2EnvelopedKey: ${(err as Error).message}`,
    );
  }
}
