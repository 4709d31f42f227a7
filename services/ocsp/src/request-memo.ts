import type { ParsedOcspRequest } from '@sm2ca/pki';

const MAX_ENTRIES = 20_000;

/**
 * Parsed requests by their exact text (GET path, POST body): relying parties ask the same
 * question over and over, and parsing costs more than answering from memory. Requests with
 * a nonce are never the same twice and are not kept; the oldest entry goes first.
 */
export class RequestMemo {
  readonly #parsed = new Map<string, ParsedOcspRequest>();

  get(text: string): ParsedOcspRequest | undefined {
    return this.#parsed.get(text);
  }

  remember(text: string, request: ParsedOcspRequest): void {
    if (request.nonce) return;
    this.#parsed.set(text, request);
    if (this.#parsed.size > MAX_ENTRIES) this.#parsed.delete(this.#parsed.keys().next().value!);
  }
}
