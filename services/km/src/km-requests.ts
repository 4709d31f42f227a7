import {
  decodeCaRequest,
  type KmErrorCode,
  type KmRespondItem,
  type KsRequest,
  kmErrors,
  type Signer,
  signKmRespond,
} from '@sm2ca/pki';
import {
  type Actor,
  type AppError,
  type CallerCertificate,
  type CallerCertificates,
  instructionWindowMs,
  recordAudit,
} from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { applyKeyAtOnce } from './apply-key.ts';
import type { KmCall, KmContext } from './km-context.ts';
import { handlerOf } from './km-handlers.ts';
import { kmRefusal, refusalCode } from './km-refusal.ts';
import { findRequest, keepResponse, recordRequest, requestDigest } from './request-ledger.ts';

/** More items than this in one request is refused: each is a device operation. */
const MAX_ITEMS = 64;
/** taskNO of a refusal of a request whose own taskNO could not be read: the field is mandatory. */
const UNKNOWN_TASK = '00000000';

export interface KmAnswer {
  status: number;
  /** KMRespond DER: the answer, or one ErrorPkgRespond. */
  der: Uint8Array;
  code?: KmErrorCode;
}

/** What is known of a request when it is refused: the audit record says as much as it can. */
interface Seen {
  taskNo?: string;
  caName?: string;
  caller?: CallerCertificate;
  items?: string[];
}

export interface KmRequestsOptions {
  km: KmContext;
  callers: CallerCertificates;
  /** The KM's response-signing key (its newest 'km' certificate). */
  signer: Signer;
  kmName: string;
}

/**
 * GM/T 0014 CARequest in, KMRespond out. Order: the DER parses, its signature verifies under
 * a current certificate of a caller kind, its time is inside the window, each item is one its
 * signer may ask for and well formed; then the task is recorded with its state changes in one
 * transaction, and answered from what that transaction left (so a repeat is answered alike).
 * Every refusal is audited and answered signed, with the code at the front of errDesc.
 */
export class KmRequests {
  readonly #options: KmRequestsOptions;
  #cas = new Set<string>();

  constructor(options: KmRequestsOptions) {
    this.#options = options;
  }

  async answer(body: Uint8Array, now = new Date()): Promise<KmAnswer> {
    const seen: Seen = {};
    try {
      return { status: 200, der: await this.#accept(body, seen, now) };
    } catch (err) {
      const code = refusalCode(err);
      if (!code) throw err;
      const refusal = err as AppError;
      await this.#recordRefusal(code, refusal, seen);
      const der = await signKmRespond(
        {
          kmName: this.#options.kmName,
          responses: [{ kind: 'error', errNo: kmErrors[code].errNo, errDesc: `${code}: ${refusal.message}` }],
          respondTime: new Date(),
          taskNo: seen.taskNo ?? UNKNOWN_TASK,
        },
        this.#options.signer,
      );
      return { status: refusal.status, der, code };
    }
  }

  async #accept(body: Uint8Array, seen: Seen, now: Date): Promise<Uint8Array> {
    const { km, callers } = this.#options;
    const { request, tbs, signature } = decode(body);
    seen.taskNo = request.taskNo;
    seen.caName = request.caName;
    seen.items = request.requests.map((item) => item.kind);
    const caller = await callers.signerOf(tbs, signature, now);
    seen.caller = caller;
    if (Math.abs(now.getTime() - request.requestTime.getTime()) > instructionWindowMs) {
      throw kmRefusal(
        'STALE',
        `requestTime is more than ${instructionWindowMs / 60_000} minutes from the KM clock`,
      );
    }
    this.#checkItems(request, caller);
    await this.#requireCa(request.caName);

    const call: KmCall = { request, caller, actor: actorOf(caller) };
    const digest = requestDigest(request);
    // The CA's one-key task, nearly always new: recorded and taken in one statement.
    const [only] = request.requests;
    if (request.requests.length === 1 && only?.kind === 'applyKey') {
      const answered = await applyKeyAtOnce(km, call, only, digest);
      if (answered) return this.#respond(request.taskNo, [answered]);
    }
    const fresh = await withTransaction(km.pool, async (client) => {
      const recorded = await recordRequest(client, {
        taskNo: request.taskNo,
        callerId: caller.id,
        callerSerial: caller.serial,
        caName: request.caName,
        digest,
      });
      if (!recorded) return false;
      for (const item of request.requests) await handlerOf(item).commit(client, km, call, item);
      return true;
    });
    // A known task (a retry, or a twin that recorded it first): the same content, and its answer if kept.
    if (!fresh) {
      const known = await findRequest(km.pool, request.taskNo, digest);
      if (known?.response) return known.response;
    }
    const responses = [];
    for (const item of request.requests) responses.push(await handlerOf(item).answer(km, call, item));
    return this.#respond(request.taskNo, responses);
  }

  /** Signs the answer and keeps it, unless a twin kept another first: then that one. */
  async #respond(taskNo: string, responses: KmRespondItem[]): Promise<Uint8Array> {
    const der = await signKmRespond(
      { kmName: this.#options.kmName, responses, respondTime: new Date(), taskNo },
      this.#options.signer,
    );
    return keepResponse(this.#options.km.pool, taskNo, der);
  }

  #checkItems(request: KsRequest, caller: CallerCertificate): void {
    const items = request.requests;
    if (items.length === 0) throw kmRefusal('MALFORMED', 'requestList is empty');
    if (items.length > MAX_ITEMS) {
      throw kmRefusal('MALFORMED', `at most ${MAX_ITEMS} requests in one task (got ${items.length})`);
    }
    const numbers = new Set(items.map((item) => item.userCertNo));
    if (numbers.size < items.length) {
      throw kmRefusal('MALFORMED', 'a userCertNo appears more than once in one task');
    }
    for (const item of items) {
      const handler = handlerOf(item);
      if (!handler.callers.includes(caller.kind)) {
        throw kmRefusal(
          'NOT_PERMITTED',
          `a ${caller.kind} certificate may not sign ${item.kind}; it needs: ${handler.callers.join(', ')}`,
          { callerKind: caller.kind, request: item.kind },
        );
      }
      handler.check(item);
    }
  }

  /** caName is the issuer id of one of our CAs: keys are escrowed per CA and certificate number. */
  async #requireCa(caName: string): Promise<void> {
    if (this.#cas.has(caName)) return;
    const { rows } = await this.#options.km.pool.query(
      "SELECT id FROM issuers WHERE kind IN ('root', 'subordinate')",
    );
    this.#cas = new Set(rows.map((row) => row.id as string));
    if (!this.#cas.has(caName)) {
      throw kmRefusal('NOT_PERMITTED', `caName ${JSON.stringify(caName)} is not a CA this KM serves`);
    }
  }

  async #recordRefusal(code: KmErrorCode, refusal: AppError, seen: Seen): Promise<void> {
    // A revoked caller is named by the refusal itself: its key did sign.
    const revoked = typeof refusal.details?.caller === 'string' ? refusal.details.caller : undefined;
    const actor = { name: seen.caller?.id ?? revoked ?? 'unknown', role: 'km_caller' };
    await withTransaction(this.#options.km.pool, (client) =>
      recordAudit(client, actor, {
        action: 'km.request.refuse',
        subjectType: 'km_request',
        subjectId: seen.taskNo ?? '(none)',
        after: {
          code,
          message: refusal.message,
          ...(seen.caName !== undefined ? { caName: seen.caName } : {}),
          ...(seen.items ? { requests: seen.items } : {}),
          ...(seen.caller ? { callerSerial: seen.caller.serial } : {}),
          ...(refusal.details ? { details: refusal.details } : {}),
        },
      }),
    );
  }
}

function actorOf(caller: CallerCertificate): Actor {
  return { name: caller.id, role: 'km_caller' };
}

function decode(body: Uint8Array): ReturnType<typeof decodeCaRequest> {
  try {
    return decodeCaRequest(body);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'KM_MESSAGE_MALFORMED') throw kmRefusal('MALFORMED', (err as Error).message);
    throw err;
  }
}
