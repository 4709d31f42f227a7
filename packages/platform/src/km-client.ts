import {
  decodeKmRespond,
  type KmRequestItem,
  type KmRespondItem,
  kmErrorCode,
  type Signer,
  signCaRequest,
  type Verifier,
} from '@sm2ca/pki';
import type { Pool } from '@sm2ca/store';
import { AppError } from './app-error.ts';
import { CallerCertificates } from './caller-certificates.ts';
import type { Config } from './config.ts';

/** The KM service's address as the CA and the RA reach it (loopback by default). */
export function kmUrl(config: Config): string {
  const { host, port } = config.services.km;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
}

export interface KmClientOptions {
  /** The KM's base URL (kmUrl). */
  url: string;
  /** The caller's key in the device: 'ca-km' for the CA, 'ra' for the RA. */
  caller: Signer;
  /** Where the KM's certificates are on record (issuers of kind 'km'). */
  pool: Pool;
  verifier: Verifier;
  timeoutMs?: number;
}

export interface EnvelopedKey {
  /** SubjectPublicKeyInfo DER of the escrowed key. */
  publicKey: Uint8Array;
  /** SM2EnvelopedKey DER (GM/T 0009) to the userPublicKey of the request. */
  envelopedKey: Uint8Array;
}

const contentType = 'application/octet-stream';

/**
 * GM/T 0014 from the caller's side: one signed CARequest per call, one task per call. The
 * task number is the caller's idempotency key: sending the same task again (after a timeout, a
 * crash) gets the same key back. Every KMRespond, refusals included, is believed only under a
 * current KM certificate. A refusal is KM_REFUSED (its code in details.kmCode), a KM out of reach
 * or failing KM_UNAVAILABLE: worth trying again with the same task.
 */
export class KmClient {
  readonly #options: KmClientOptions;
  readonly #kmCertificates: CallerCertificates;

  constructor(options: KmClientOptions) {
    this.#options = options;
    this.#kmCertificates = new CallerCertificates(options.pool, options.verifier, {
      kinds: ['km'],
      codes: {
        expired: 'KM_RESPONSE_INVALID',
        invalid: 'KM_RESPONSE_INVALID',
        revoked: 'KM_RESPONSE_INVALID',
      },
      words: { caller: 'KM', signed: 'KM answer' },
    });
  }

  async applyKey(
    taskNo: string,
    caName: string,
    item: { userCertNo: string; userPublicKey: Uint8Array; notBefore: Date; notAfter: Date },
  ): Promise<EnvelopedKey> {
    const answer = await this.#ask(taskNo, caName, { kind: 'applyKey', ...item }, 'retKey');
    return { publicKey: answer.publicKey, envelopedKey: answer.envelopedKey };
  }

  async restoreKey(
    taskNo: string,
    caName: string,
    item: { userCertNo: string; userPublicKey: Uint8Array },
  ): Promise<EnvelopedKey> {
    const answer = await this.#ask(taskNo, caName, { kind: 'restoreKey', ...item }, 'restoreKey');
    return { publicKey: answer.publicKey, envelopedKey: answer.envelopedKey };
  }

  async revokeKey(taskNo: string, caName: string, item: { userCertNo: string }): Promise<void> {
    await this.#ask(taskNo, caName, { kind: 'revokeKey', ...item }, 'revokeKey');
  }

  async #ask<K extends KmRespondItem['kind']>(
    taskNo: string,
    caName: string,
    item: KmRequestItem,
    expected: K,
  ): Promise<Extract<KmRespondItem, { kind: K }>> {
    const { url, caller, timeoutMs } = this.#options;
    const request = await signCaRequest(
      { caName, requests: [item], requestTime: new Date(), taskNo },
      caller,
    );
    let res: Response;
    let body: Uint8Array;
    try {
      res = await fetch(`${url}/v1/gmt0014`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: request,
        signal: AbortSignal.timeout(timeoutMs ?? 10_000),
      });
      body = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      throw new AppError(
        'KM_UNAVAILABLE',
        `the KM at ${url} cannot be reached: ${(err as Error).message}`,
        503,
        {
          taskNo,
        },
      );
    }
    if (!res.headers.get('content-type')?.startsWith(contentType)) {
      // Not a KMRespond: the shared error body of a request the KM never read, or a fault.
      const code = errorCodeOf(body);
      if (res.status >= 500) {
        throw new AppError('KM_UNAVAILABLE', `the KM failed (${res.status} ${code})`, 503, {
          taskNo,
          kmCode: code,
        });
      }
      throw new AppError('KM_REFUSED', `the KM refused the request: ${code}`, 502, { taskNo, kmCode: code });
    }
    const respond = await this.#verified(body);
    const [answer] = respond.responses;
    if (answer?.kind === 'error') {
      const kmCode = kmErrorCode(answer.errNo) ?? res.headers.get('x-sm2ca-error-code') ?? 'UNKNOWN';
      throw new AppError('KM_REFUSED', answer.errDesc, 502, { errNo: answer.errNo, kmCode, taskNo });
    }
    if (
      respond.taskNo !== taskNo ||
      respond.responses.length !== 1 ||
      answer?.kind !== expected ||
      answer.userCertNo !== item.userCertNo
    ) {
      throw new AppError('KM_RESPONSE_INVALID', `the KM's answer does not answer task ${taskNo}`, 502, {
        taskNo,
      });
    }
    return answer as Extract<KmRespondItem, { kind: K }>;
  }

  async #verified(der: Uint8Array) {
    let decoded: ReturnType<typeof decodeKmRespond>;
    try {
      decoded = decodeKmRespond(der);
    } catch (err) {
      throw new AppError(
        'KM_RESPONSE_INVALID',
        `the KM's answer is malformed: ${(err as Error).message}`,
        502,
      );
    }
    try {
      await this.#kmCertificates.signerOf(decoded.tbs, decoded.signature);
    } catch (err) {
      if (err instanceof AppError) throw new AppError(err.code, err.message, 502, err.details);
      throw err;
    }
    return decoded.respond;
  }
}

function errorCodeOf(body: Uint8Array): string {
  try {
    const code = (JSON.parse(Buffer.from(body).toString('utf8')) as { error?: { code?: unknown } }).error
      ?.code;
    return typeof code === 'string' ? code : 'no error code';
  } catch {
    return 'no error code';
  }
}
