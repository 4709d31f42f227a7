import { type SchemaOptions, type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import type { Verifier } from '@sm2ca/pki';
import { type Actor, AppError, operatorActor } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import type { FastifyRequest } from 'fastify';
import type { CaClient } from './ca-client.ts';

/** What the RA's route modules share. */
export interface RaContext {
  pool: Pool;
  ca: CaClient;
  /** How long a download code stays valid after issuance. */
  downloadCodeDays: number;
  /**
   * Whether an application may bring its own encryption key: the CA's setting
   * (SM2CA_ALLOW_HOLDER_ENCRYPTION_KEYS, off by default), so the RA refuses at entry what the CA would refuse.
   */
  allowHolderEncryptionKeys: boolean;
  /** Checks a holder's CSR proof of possession. */
  csrVerifier: Verifier;
}

/**
 * A string enumeration as one `enum` of its values, the form OpenAPI readers and client
 * generators expect; typed as the equivalent union of literals, which the type provider infers.
 */
export function literals<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe({ ...options, type: 'string', enum: [...values] }) as unknown as TUnion<{
    -readonly [K in keyof T]: TLiteral<T[K]>;
  }>;
}

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const Time = Type.String({ format: 'date-time' });

/** A timestamp column as the API shows it. */
export const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : null);

export const IdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,17}$' }) });

export const ReviewBody = Type.Object(
  {
    decision: literals(['approve', 'reject']),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  },
  { additionalProperties: false },
);

/** The operator behind a route that declared a permission, in the role they act in; access control has authenticated them. */
export function actorOf(request: FastifyRequest): Actor & { id: string } {
  return operatorActor(request);
}

export function requireReason(decision: 'approve' | 'reject', reason: string | undefined): void {
  if (decision === 'reject' && !reason?.trim()) {
    throw new AppError('REVIEW_REASON_REQUIRED', 'a rejection needs a reason the applicant can be told', 400);
  }
}
