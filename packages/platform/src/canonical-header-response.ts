import { type IncomingMessage, type OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * Header names are case-insensitive (RFC 9110 5.1), but GmSSL's ocspget and crlget look for
 * `Content-Length` spelled so, and Node writes names as given: Fastify gives them lowercase.
 */
const CANONICAL: ReadonlyMap<string, string> = new Map([
  ['content-length', 'Content-Length'],
  ['content-type', 'Content-Type'],
]);

function canonical(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const renamed: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    renamed[CANONICAL.get(name.toLowerCase()) ?? name] = value;
  return renamed;
}

/**
 * The response class of every service's HTTP server: writes Content-Length and Content-Type
 * in their canonical case, whether set with setHeader or passed to writeHead (as Fastify does).
 */
export class CanonicalHeaderResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  override writeHead(statusCode: number, ...rest: unknown[]): this {
    for (const [lower, name] of CANONICAL) {
      const value = this.getHeader(lower);
      // setHeader keeps the name it is given last: the value stays, the spelling changes.
      if (value !== undefined) this.setHeader(name, value);
    }
    const last = rest.length - 1;
    const headers = rest[last];
    if (headers && typeof headers === 'object' && !Array.isArray(headers)) {
      rest[last] = canonical(headers as OutgoingHttpHeaders);
    }
    return Reflect.apply(super.writeHead, this, [statusCode, ...rest]);
  }
}
