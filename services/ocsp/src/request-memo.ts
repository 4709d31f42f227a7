import { type ParsedOcspRequest, parseOcspGetRequest, parseOcspRequest } from '@sm2ca/pki';

const MAX_ENTRIES = 20_000;

class BoundedMap<V> extends Map<string, V> {
  override set(key: string, value: V): this {
    super.set(key, value);
    if (this.size > MAX_ENTRIES) this.delete(this.keys().next().value!);
    return this;
  }
}

/**
 * Parsed requests by their bytes: relying parties ask the same question over and over, and
 * parsing costs more than answering from memory. A request with a nonce is remembered
 * by its shape — the bytes before the nonce, which OpenSSL and most clients put last — so
 * the next one differing only in the nonce's octets is not parsed again: all the framing
 * around those octets is in the bytes compared, so it would parse to the same CertIDs.
 */
export class RequestMemo {
  readonly #bodies = new BoundedMap<ParsedOcspRequest>();
  readonly #paths = new BoundedMap<ParsedOcspRequest>();
  readonly #shapes = new BoundedMap<ParsedOcspRequest>();
  /** Lengths of the nonces seen (extnValue octets): at most 34, so few. */
  readonly #nonceLengths = new Set<number>();

  /** A POST body; throws PkiError(OCSP_MALFORMED_REQUEST) as parseOcspRequest does. */
  parseBody(body: Buffer): ParsedOcspRequest {
    const text = body.toString('latin1');
    const known = this.#bodies.get(text) ?? this.#withNonce(body, text);
    if (known) return known;
    const parsed = parseOcspRequest(body);
    const { nonce } = parsed;
    if (!nonce) this.#bodies.set(text, parsed);
    else if (isWrappedNonce(nonce) && body.subarray(body.length - nonce.length).equals(nonce)) {
      this.#nonceLengths.add(nonce.length);
      this.#shapes.set(shapeKey(text, nonce.length), { certIds: parsed.certIds, signed: parsed.signed });
    }
    return parsed;
  }

  /** A GET path segment; requests with a nonce are rare there and always parsed. */
  parsePath(path: string): ParsedOcspRequest {
    const known = this.#paths.get(path);
    if (known) return known;
    const parsed = parseOcspGetRequest(path);
    if (!parsed.nonce) this.#paths.set(path, parsed);
    return parsed;
  }

  #withNonce(body: Buffer, text: string): ParsedOcspRequest | undefined {
    for (const length of this.#nonceLengths) {
      if (length >= body.length) continue;
      const shape = this.#shapes.get(shapeKey(text, length));
      const nonce = body.subarray(body.length - length);
      if (shape && isWrappedNonce(nonce)) return { ...shape, nonce };
    }
    return undefined;
  }
}

function shapeKey(text: string, nonceLength: number): string {
  return `${nonceLength}:${text.slice(0, text.length - nonceLength)}`;
}

/** The RFC 6960 form: an OCTET STRING of 1 to 32 octets inside extnValue. */
function isWrappedNonce(value: Buffer): boolean {
  return value.length >= 3 && value.length <= 34 && value[0] === 0x04 && value[1] === value.length - 2;
}
