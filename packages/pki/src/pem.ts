import { PkiError } from './pki-error.ts';

export function derToPem(der: Uint8Array, label: string): string {
  const body = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  return `-----BEGIN ${label}-----\n${body.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/**
 * The DER inside the first PEM block (any label unless `label` is given), or the input itself
 * when it is not PEM — so callers take files in either form.
 */
export function pemOrDerToDer(input: Uint8Array, label?: string): Uint8Array {
  const text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  if (!text.includes('-----BEGIN ')) return input;
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!match || (label && match[1] !== label)) {
    throw new PkiError('PEM_MALFORMED', label ? `no PEM block labelled ${label}` : 'malformed PEM');
  }
  const body = (match[2] ?? '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new PkiError('PEM_MALFORMED', 'PEM body is not base64');
  return new Uint8Array(Buffer.from(body, 'base64'));
}
