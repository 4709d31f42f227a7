import { randomUUID } from 'node:crypto';
import type { Signer, Verifier } from '@sm2ca/pki';
import { AppError } from './app-error.ts';
import { isDateTime, parseDateTime } from './date-time.ts';

/**
 * RA → CA instructions are JSON bodies signed over their exact bytes with the
 * RA's SM2 key (GM default signer ID). The CA acts only on what verifies.
 */
export const instructionSignatureHeader = 'x-sm2ca-signature';

/** How far an instruction's timestamp may be from the CA's clock. */
export const instructionWindowMs = 5 * 60 * 1000;

/**
 * Reasons the RA may give for revoking or suspending (RFC 5280 CRLReason names;
 * removeFromCRL is not a request, and the CA-compromise reasons belong to the
 * CA's own ceremonies).
 */
export const revocationReasons = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'privilegeWithdrawn',
] as const;
export type RevocationReason = (typeof revocationReasons)[number];

export interface InstructionEnvelope {
  requestId: string;
  timestamp: string;
}

export async function signInstruction<T extends object>(
  body: T & Partial<InstructionEnvelope>,
  signer: Signer,
): Promise<{ payload: Buffer; headers: Record<string, string>; requestId: string }> {
  const requestId = body.requestId ?? randomUUID();
  const payload = Buffer.from(
    JSON.stringify({ ...body, requestId, timestamp: new Date().toISOString() }),
    'utf8',
  );
  const signature = await signer.sign(payload);
  return {
    payload,
    requestId,
    headers: {
      'content-type': 'application/json',
      [instructionSignatureHeader]: Buffer.from(signature).toString('base64'),
    },
  };
}

/** The signature an instruction's header carries, decoded. */
export function instructionSignature(signatureHeader: string | string[] | undefined): Buffer {
  if (typeof signatureHeader !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(signatureHeader)) {
    throw new AppError(
      'RA_SIGNATURE_MISSING',
      `the ${instructionSignatureHeader} header is missing or not base64`,
      401,
    );
  }
  return Buffer.from(signatureHeader, 'base64');
}

/**
 * The body of an instruction whose signature has been verified, once its envelope is
 * well formed and its timestamp inside the window.
 */
export function readInstruction(
  raw: Buffer,
  now = Date.now(),
): InstructionEnvelope & Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('INSTRUCTION_MALFORMED', 'the instruction is not JSON', 400);
  }
  const { requestId, timestamp } = (body ?? {}) as Partial<InstructionEnvelope>;
  if (typeof requestId !== 'string' || !/^[A-Za-z0-9-]{8,64}$/.test(requestId)) {
    throw new AppError('INSTRUCTION_MALFORMED', 'requestId must be 8-64 letters, digits or dashes', 400);
  }
  if (typeof timestamp !== 'string' || !isDateTime(timestamp))
    throw new AppError('INSTRUCTION_MALFORMED', 'timestamp must be an RFC 3339 date-time', 400);
  const at = parseDateTime(timestamp).getTime();
  if (Math.abs(now - at) > instructionWindowMs) {
    throw new AppError(
      'INSTRUCTION_STALE',
      `the instruction's timestamp is more than ${instructionWindowMs / 60000} minutes from the CA clock`,
      401,
    );
  }
  return body as InstructionEnvelope & Record<string, unknown>;
}

/**
 * The instruction, once its signature verifies under the RA key and its
 * timestamp is inside the window. Replay of a request id is the caller's check
 * (it needs the database).
 */
export async function verifyInstruction(
  raw: Buffer,
  signatureHeader: string | string[] | undefined,
  raPublicKey: Uint8Array,
  verifier: Verifier,
  now = Date.now(),
): Promise<InstructionEnvelope & Record<string, unknown>> {
  const signature = instructionSignature(signatureHeader);
  const valid = await verifier.verify(raPublicKey, raw, signature).catch(() => false);
  if (!valid) throw new AppError('RA_SIGNATURE_INVALID', 'the instruction is not signed by the RA key', 401);
  return readInstruction(raw, now);
}
