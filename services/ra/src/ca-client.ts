import http from 'node:http';
import https from 'node:https';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Signer } from '@sm2ca/pki';
import { AppError, type CaActionKind, type RevocationReason, signInstruction } from '@sm2ca/platform';
import type { HolderInstruction } from './holder-identity.ts';

export { type RevocationReason, revocationReasons } from '@sm2ca/platform';

export interface IssueInstruction extends HolderInstruction {
  requestId: string;
  profile: string;
  /** The template, of the profile's kind, when not the profile's own. */
  template?: string;
  /** The approved template version; the CA reads it itself. */
  templateVersion?: number;
  /** How the RA finds this holder's certificates again (identifier type and value). */
  holderKey: string;
  /** PKCS#10 DER, base64. */
  csr: string;
  validityDays?: number;
  /** Dual enrollment: the CA also issues this encryption profile for a key the KM generates and escrows. */
  encryption?: { profile: string; template?: string; templateVersion?: number };
}

export interface RevokeInstruction {
  requestId: string;
  issuerId: string;
  serial: string;
  reason: RevocationReason;
}

export interface ReleaseInstruction {
  requestId: string;
  issuerId: string;
  serial: string;
}

const IssueAnswer = Type.Object({
  issuerId: Type.String({ minLength: 1 }),
  serial: Type.String({ pattern: '^[0-9a-f]+$' }),
  certificate: Type.String({ minLength: 1 }),
  chain: Type.Array(Type.String()),
  encryption: Type.Optional(
    Type.Object({
      serial: Type.String({ pattern: '^[0-9a-f]+$' }),
      /** DER, base64; issued by the same CA as the signature certificate. */
      certificate: Type.String({ minLength: 1 }),
      /** SM2EnvelopedKey DER, base64: the KM's key enveloped to the signature certificate's key. */
      envelopedKey: Type.String({ minLength: 1 }),
    }),
  ),
});
export type IssueAnswer = Static<typeof IssueAnswer>;

const RevokeAnswer = Type.Object({
  issuerId: Type.String(),
  serial: Type.String(),
  status: Type.Union([Type.Literal('revoked'), Type.Literal('hold')]),
  revokedAt: Type.String(),
});
export type RevokeAnswer = Static<typeof RevokeAnswer>;

/** Carry out a CA-level action whose approvals the CA reads from the database itself. */
export interface CaActionInstruction {
  requestId: string;
  actionId: string;
  kind: CaActionKind;
  /** The action's digest (hex) the approvals are bound to. */
  digest: string;
}

const CaActionAnswer = Type.Object({
  actionId: Type.String(),
  kind: Type.String(),
  state: Type.Literal('executed'),
  result: Type.Record(Type.String(), Type.Unknown()),
});
export type CaActionAnswer = Static<typeof CaActionAnswer>;
const ReleaseAnswer = Type.Object({
  issuerId: Type.String(),
  serial: Type.String(),
  status: Type.Literal('good'),
  releasedAt: Type.String(),
});
export type ReleaseAnswer = Static<typeof ReleaseAnswer>;

const BatchIssueAnswer = Type.Object({
  results: Type.Array(
    Type.Union([
      Type.Object({
        requestId: Type.String(),
        issuerId: Type.String(),
        serial: Type.String({ pattern: '^[0-9a-f]+$' }),
      }),
      Type.Object({
        requestId: Type.String(),
        error: Type.Object({ code: Type.String(), message: Type.String(), status: Type.Integer() }),
      }),
    ]),
  ),
});
export type BatchIssueAnswer = Static<typeof BatchIssueAnswer>;

export interface CaClient {
  issue(instruction: IssueInstruction): Promise<IssueAnswer>;
  /** Issue instructions under one signature: each item answered with its serial or its error, in order. */
  issueBatch(items: IssueInstruction[]): Promise<BatchIssueAnswer>;
  revoke(instruction: RevokeInstruction): Promise<RevokeAnswer>;
  caAction(instruction: CaActionInstruction): Promise<CaActionAnswer>;
  /** Ends a suspension: the certificate is good again. */
  release(instruction: ReleaseInstruction): Promise<ReleaseAnswer>;
}

export interface CaClientOptions {
  baseUrl: string;
  /** The RA's own key in the device; the CA acts only on instructions it signed. */
  signer: Signer;
  timeoutMs?: number;
}

/** A CA refusal as the RA reports it, for a whole instruction or one item of a batch. */
export function caRefusal(
  caStatus: number,
  caCode: string,
  caMessage: string,
  details?: Record<string, unknown>,
): AppError {
  // A refusal the operator acts on keeps the CA's code: the holder needs a new key pair.
  if (caCode === 'KEY_REUSED' || caCode === 'KEY_COMPROMISED')
    return new AppError(caCode, caMessage, 409, details);
  return new AppError('CA_REFUSED', `the CA refused: ${caMessage}`, 502, { caCode, caStatus });
}

/**
 * The RA side of the RA→CA contract: every instruction a signed JSON POST. A
 * retry carries the same request id, so the CA answers it with the outcome of
 * the first attempt instead of acting twice.
 */
export function createCaClient(options: CaClientOptions): CaClient {
  const timeoutMs = options.timeoutMs ?? 30_000;

  // fetch() cost the RA more CPU per instruction than everything else in the call: a plain
  // keep-alive request does the same job, and keeps connections to the CA open between calls.
  const base = new URL(options.baseUrl);
  const transport = base.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true });

  function send(path: string, payload: Buffer, headers: Record<string, string>) {
    return new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = transport.request(
        new URL(path, base),
        {
          method: 'POST',
          agent,
          headers: { ...headers, 'content-length': String(payload.length) },
          signal: AbortSignal.timeout(timeoutMs),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          response.on('error', reject);
          response.on('close', () => {
            if (!response.complete) reject(new Error('the CA connection closed mid-answer'));
          });
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }

  async function post<S extends TSchema>(path: string, body: object, answer: S): Promise<Static<S>> {
    const { payload, headers } = await signInstruction(body, options.signer);
    let response: { status: number; text: string };
    try {
      response = await send(path, payload, headers);
    } catch (err) {
      throw new AppError(
        'CA_UNAVAILABLE',
        `the CA at ${options.baseUrl} did not answer; try again`,
        503,
        undefined,
        {
          cause: err,
        },
      );
    }
    const { text } = response;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (response.status < 200 || response.status > 299) {
      const error = (
        parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined
      )?.error;
      throw caRefusal(
        response.status,
        typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
        typeof error?.message === 'string' ? error.message : text.slice(0, 200),
        error?.details as Record<string, unknown> | undefined,
      );
    }
    if (!Value.Check(answer, parsed)) {
      throw new AppError('CA_ANSWER_INVALID', `the CA's answer to ${path} does not match the contract`, 502);
    }
    return parsed;
  }

  return {
    async issue(instruction) {
      const answer = await post(
        '/v1/instructions/issue',
        { operation: 'issue', ...instruction },
        IssueAnswer,
      );
      // A CA that ignored the encryption part would leave a dual application half issued.
      if (Boolean(instruction.encryption) !== Boolean(answer.encryption)) {
        throw new AppError(
          'CA_ANSWER_INVALID',
          `the CA's answer to a ${instruction.encryption ? 'dual' : 'single'} issue instruction ${answer.encryption ? 'has' : 'lacks'} an encryption certificate`,
          502,
        );
      }
      return answer;
    },
    async issueBatch(items) {
      const answer = await post(
        '/v1/instructions/issue-batch',
        { operation: 'issue-batch', items },
        BatchIssueAnswer,
      );
      if (
        answer.results.length !== items.length ||
        answer.results.some((result, index) => result.requestId !== items[index]?.requestId)
      ) {
        throw new AppError('CA_ANSWER_INVALID', "the CA's answer to a batch does not follow its items", 502);
      }
      return answer;
    },
    revoke: (instruction) =>
      post('/v1/instructions/revoke', { operation: 'revoke', ...instruction }, RevokeAnswer),
    caAction: (instruction) =>
      post('/v1/instructions/ca-action', { operation: 'ca-action', ...instruction }, CaActionAnswer),
    release: (instruction) =>
      post('/v1/instructions/release', { operation: 'release', ...instruction }, ReleaseAnswer),
  };
}
