import {
  OCSP_MALFORMED_REQUEST,
  type OcspCertId,
  type ParsedOcspRequest,
  PkiError,
  parseOcspGetRequest,
  parseOcspRequest,
} from '@sm2ca/pki';

/** RFC 5019 clients ask for one certificate; a request naming more than this is not a real client. */
export const MAX_CERT_IDS = 20;
/**
 * 20 CertIDs take about 2.5 KB; a requestor name, a nonce and a signature with its certificates
 * a few KB more. Larger bodies are refused unread.
 */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** A GET path holds the request in base64 (4 characters for 3 bytes), with '/', '+', '=' maybe %-escaped. */
const MAX_PATH_CHARS = MAX_REQUEST_BYTES * 4;
/**
 * About 25,000 single-certificate requests as counted by `footprint`: more than the distinct
 * questions relying parties ask between two refreshes, and small next to the response cache.
 */
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** V8's share of an entry beyond its bytes: the Map slot, the key's header, the result objects. */
const ENTRY_OVERHEAD = 200;
/** Per CertID: its object, three Buffer views and the serial BigInt. */
const CERT_ID_OVERHEAD = 400;

function refused(message: string): PkiError {
  return new PkiError(OCSP_MALFORMED_REQUEST, message);
}

/**
 * Parsed requests by their bytes: relying parties ask the same question over and over, and
 * parsing costs more than answering from memory. A request with a nonce is remembered
 * by its shape — the bytes before the nonce, which OpenSSL and most clients put last — so
 * the next one differing only in the nonce's octets is not parsed again: all the framing
 * around those octets is in the bytes compared, so it would parse to the same CertIDs.
 *
 * What it holds is bounded in bytes, not entries, since clients choose how large a request
 * is; oversized requests and those naming too many certificates are refused before parsing,
 * and nothing refused or malformed is remembered.
 */
export class RequestMemo {
  /** Bodies ("b"), GET paths ("p") and nonce shapes ("s"), oldest first, with their footprints. */
  readonly #entries = new Map<string, { parsed: ParsedOcspRequest; bytes: number }>();
  #bytes = 0;
  /** Lengths of the nonces seen (extnValue octets): at most 34, so few. */
  readonly #nonceLengths = new Set<number>();

  constructor(private readonly maxBytes = DEFAULT_MAX_BYTES) {}

  /** What the remembered requests are counted at; never more than the bound given. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A POST body; throws PkiError(OCSP_MALFORMED_REQUEST) as parseOcspRequest does. */
  parseBody(body: Buffer): ParsedOcspRequest {
    if (body.length > MAX_REQUEST_BYTES) throw refused(`OCSP request larger than ${MAX_REQUEST_BYTES} bytes`);
    const text = body.toString('latin1');
    const known = this.#entries.get(`b${text}`)?.parsed ?? this.#withNonce(body, text);
    if (known) return known;
    const { nonce, ...parsed } = compact(parseOcspRequest(body, { maxCertIds: MAX_CERT_IDS }));
    if (!nonce) return this.#remember(`b${text}`, parsed);
    if (isWrappedNonce(nonce) && body.subarray(body.length - nonce.length).equals(nonce)) {
      this.#nonceLengths.add(nonce.length);
      this.#remember(shapeKey(text, nonce.length), parsed);
    }
    return { ...parsed, nonce };
  }

  /** A GET path segment; requests with a nonce are rare there and always parsed. */
  parsePath(path: string): ParsedOcspRequest {
    if (path.length > MAX_PATH_CHARS) throw refused(`OCSP GET path longer than ${MAX_PATH_CHARS} characters`);
    const known = this.#entries.get(`p${path}`)?.parsed;
    if (known) return known;
    const parsed = compact(parseOcspGetRequest(path, { maxCertIds: MAX_CERT_IDS }));
    return parsed.nonce ? parsed : this.#remember(`p${path}`, parsed);
  }

  #remember(key: string, parsed: ParsedOcspRequest): ParsedOcspRequest {
    const bytes = footprint(key, parsed);
    if (bytes > this.maxBytes) return parsed;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes + bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
    this.#entries.set(key, { parsed, bytes });
    this.#bytes += bytes;
    return parsed;
  }

  #withNonce(body: Buffer, text: string): ParsedOcspRequest | undefined {
    for (const length of this.#nonceLengths) {
      if (length >= body.length) continue;
      const shape = this.#entries.get(shapeKey(text, length))?.parsed;
      const nonce = body.subarray(body.length - length);
      if (shape && isWrappedNonce(nonce)) return { ...shape, nonce };
    }
    return undefined;
  }
}

/** Keys are latin1 strings, one byte a character in V8. */
function footprint(key: string, parsed: ParsedOcspRequest): number {
  let bytes = ENTRY_OVERHEAD + key.length;
  for (const certId of parsed.certIds) {
    bytes +=
      CERT_ID_OVERHEAD + certId.der.length + certId.issuerNameHash.length + certId.issuerKeyHash.length;
  }
  return bytes;
}

/**
 * The CertIDs with their bytes copied into one buffer of their own: the parser's are views
 * into the request body, which would keep the whole body — or the 8 KB pool slab a small
 * one was cut from — alive for as long as the request is remembered.
 */
function compact(parsed: ParsedOcspRequest): ParsedOcspRequest {
  const parts = parsed.certIds.flatMap((c) => [c.der, c.issuerNameHash, c.issuerKeyHash]);
  const store = Buffer.allocUnsafeSlow(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  const copy = (part: Buffer): Buffer => {
    part.copy(store, offset);
    offset += part.length;
    return store.subarray(offset - part.length, offset);
  };
  const certIds = parsed.certIds.map(
    (c): OcspCertId => ({
      ...c,
      der: copy(c.der),
      issuerNameHash: copy(c.issuerNameHash),
      issuerKeyHash: copy(c.issuerKeyHash),
    }),
  );
  return { ...parsed, certIds };
}

function shapeKey(text: string, nonceLength: number): string {
  return `s${nonceLength}:${text.slice(0, text.length - nonceLength)}`;
}

/** The RFC 6960 form: an OCTET STRING of 1 to 32 octets inside extnValue. */
function isWrappedNonce(value: Buffer): boolean {
  return value.length >= 3 && value.length <= 34 && value[0] === 0x04 && value[1] === value.length - 2;
}
