import {
  buildOcspCertId,
  buildOcspErrorResponse,
  type OcspErrorStatus,
  type ParsedOcspRequest,
} from '@sm2ca/pki';
import type { Logger } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { UNKNOWN } from './certificate-state.ts';
import type { CertTarget, IssuerRegistry } from './issuer-registry.ts';
import { type CachedResponse, type CacheEntry, cachedResponse, type OcspCache } from './ocsp-cache.ts';
import type { ResponseSigner } from './response-signer.ts';
import { readForRequest } from './response-table.ts';
import type { SigningRateLimit } from './signing-rate-limit.ts';

export type Answer =
  /** One certificate, no nonce: the same bytes for everyone until nextUpdate. */
  | { kind: 'cacheable'; response: CachedResponse }
  /** Signed for this request (nonce, several certificates), or an error status. */
  | { kind: 'fresh'; der: Buffer; status: 'successful' | OcspErrorStatus };

const errors = Object.fromEntries(
  (['malformedRequest', 'internalError', 'tryLater', 'unauthorized'] as const).map((status) => [
    status,
    { kind: 'fresh', der: buildOcspErrorResponse(status), status },
  ]),
) as Record<Exclude<OcspErrorStatus, 'sigRequired'>, Answer>;

export const malformedRequest = errors.malformedRequest;

/** A failure to read the database; answered with tryLater. */
class DatabaseUnavailable extends Error {}

/**
 * The client has had its share of live signatures; answered with tryLater (RFC 6960 2.3:
 * "try the query later") in a 200 like every OCSP error, since clients read the status from
 * the body, and many would take a 429 for a responder that is down.
 */
class SigningLimited extends Error {}

export interface OcspAnswersDeps {
  registry: () => IssuerRegistry;
  cache: OcspCache;
  signer: ResponseSigner;
  /** Where certificates the cache does not hold are looked up: the read replica when there is one. */
  readPool: Pool;
  /** Per client: responses signed on demand. Pre-signed and remembered answers are never limited. */
  limit: SigningRateLimit;
  log: Logger;
}

/**
 * Turns a parsed request into a response. Without a nonce, one certificate is answered
 * from memory when possible (no database, no signing); otherwise it is looked up and
 * signed once, and the result kept for everyone after. A nonce is signed live, from the
 * state held in memory.
 */
export class OcspAnswers {
  readonly #inFlight = new Map<string, Promise<CachedResponse>>();
  readonly #signing = new Set<Promise<unknown>>();

  constructor(private readonly deps: OcspAnswersDeps) {}

  /** `client` is the address the rate of live signatures is counted against. */
  answer(request: ParsedOcspRequest, client: string): Answer | Promise<Answer> {
    const registry = this.deps.registry();
    const targets: CertTarget[] = [];
    for (const certId of request.certIds) {
      const target = registry.resolve(certId);
      if (!target) return errors.unauthorized;
      // One response has one signer, and each of our signers speaks for one CA only.
      if (targets.length > 0 && targets[0]!.issuer !== target.issuer) return errors.unauthorized;
      targets.push(target);
    }
    if (request.nonce || targets.length > 1) {
      return this.deps.limit.take(client) ? this.#live(targets, request.nonce) : errors.tryLater;
    }
    const target = targets[0]!;
    const held = this.deps.cache.get(target.key)?.responses[target.certId.hashAlgorithm];
    if (held && held.nextUpdateMs > Date.now() && registry.usable(held.signerId)) {
      return { kind: 'cacheable', response: held };
    }
    return this.#signedOnce(target, client).then(
      (response): Answer => ({ kind: 'cacheable', response }),
      (err) => this.#failure(err),
    );
  }

  /** Resolves when no signature is under way: the device must stay open until then. */
  async settled(): Promise<void> {
    while (this.#signing.size > 0) await Promise.allSettled([...this.#signing]);
  }

  #track<T>(signing: Promise<T>): Promise<T> {
    this.#signing.add(signing);
    signing.finally(() => this.#signing.delete(signing)).catch(() => {});
    return signing;
  }

  /**
   * Concurrent requests for the same missing response share one lookup and one signature,
   * counted against the client that started it (and its refusal shared too).
   */
  #signedOnce(target: CertTarget, client: string): Promise<CachedResponse> {
    const flight = `${target.key}|${target.certId.hashAlgorithm}`;
    let pending = this.#inFlight.get(flight);
    if (!pending) {
      pending = this.#fetchOrSign(target, client).finally(() => this.#inFlight.delete(flight));
      this.#inFlight.set(flight, pending);
    }
    return pending;
  }

  async #fetchOrSign(target: CertTarget, client: string): Promise<CachedResponse> {
    const algorithm = target.certId.hashAlgorithm;
    const usable = (signerId: string) => this.deps.registry().usable(signerId);
    let entry = this.#trusted(target);
    if (!entry) {
      entry = await this.#lookup(target);
      const held = entry.responses[algorithm];
      if (held && held.nextUpdateMs > Date.now() && usable(held.signerId)) return held;
    }
    // Only here, after the stored response was looked for: serving a pre-signed one costs no signature.
    if (!this.deps.limit.take(client)) throw new SigningLimited();
    // A stored response would otherwise win over the live one: not when its signer is revoked.
    this.deps.cache.dropUnusable(target.key, usable);
    const { state } = entry;
    // The CertID as we would build it, so every client gets the same bytes whatever encoding the first one used.
    const certId = buildOcspCertId(target.issuer.certIdSource, target.certId.serial, algorithm);
    const signed = await this.#track(this.deps.signer.signOne({ issuer: target.issuer, certId, state }));
    const response = cachedResponse(
      signed.der,
      signed.thisUpdate,
      signed.nextUpdate,
      'live',
      target.issuer.signer.id,
    );
    this.deps.cache.install(target.key, state, { [algorithm]: response });
    return response;
  }

  /**
   * The entry held for a certificate we know: notifications keep those current. A
   * remembered "unknown" is not trusted, since the serial may have been issued since.
   */
  #trusted(target: CertTarget): CacheEntry | undefined {
    const entry = this.deps.cache.get(target.key);
    return entry && entry.state.status.status !== 'unknown' ? entry : undefined;
  }

  /** The certificate's state (and stored response) from the database, remembered. */
  async #lookup(target: CertTarget): Promise<CacheEntry> {
    const algorithm = target.certId.hashAlgorithm;
    let found: Awaited<ReturnType<typeof readForRequest>>;
    try {
      found = await readForRequest(
        this.deps.readPool,
        { issuerId: target.issuer.id, serial: target.serial },
        algorithm,
      );
    } catch (err) {
      throw new DatabaseUnavailable('certificate status lookup failed', { cause: err });
    }
    const stored = found?.response;
    return this.deps.cache.install(
      target.key,
      found?.state ?? UNKNOWN,
      stored
        ? {
            [algorithm]: cachedResponse(
              stored.der,
              stored.thisUpdate,
              stored.nextUpdate,
              'stored',
              stored.signerId,
            ),
          }
        : {},
    );
  }

  async #live(targets: CertTarget[], nonce: Buffer | undefined): Promise<Answer> {
    try {
      const answers = await Promise.all(
        targets.map(async (target) => ({
          issuer: target.issuer,
          certId: target.certId,
          state: (this.#trusted(target) ?? (await this.#lookup(target))).state,
        })),
      );
      const der = await this.#track(this.deps.signer.sign(answers, new Date(), nonce));
      return { kind: 'fresh', der, status: 'successful' };
    } catch (err) {
      return this.#failure(err);
    }
  }

  #failure(err: unknown): Answer {
    if (err instanceof SigningLimited) return errors.tryLater;
    if (err instanceof DatabaseUnavailable) {
      this.deps.log.warn(
        { err: (err.cause as Error)?.message },
        'OCSP: database unavailable; answering tryLater',
      );
      return errors.tryLater;
    }
    this.deps.log.error({ err }, 'OCSP: signing a response failed');
    return errors.internalError;
  }
}
