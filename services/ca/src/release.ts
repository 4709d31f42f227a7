import { type Static, Type } from '@sinclair/typebox';
import { AppError, recordAudit, requireEndEntity } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import { publishStatus } from './certificate-events.ts';
import {
  completeInstruction,
  findInstruction,
  instructionDigest,
  recordInstruction,
} from './request-ledger.ts';

export const ReleaseInstructionSchema = Type.Object(
  {
    requestId: Type.String(),
    timestamp: Type.String(),
    operation: Type.Literal('release'),
    issuerId: Type.String({ minLength: 1, maxLength: 64 }),
    serial: Type.String({ pattern: '^[0-9A-Fa-f]{2,40}$' }),
  },
  { additionalProperties: false },
);

export type ReleaseInstruction = Static<typeof ReleaseInstructionSchema>;

export interface ReleaseResult {
  issuerId: string;
  serial: string;
  status: 'good';
  releasedAt: string;
}

/**
 * Ends a suspension (certificateHold): the certificate is good again, with its status event in
 * the same transaction. The CRL publisher then lists it with removeFromCRL on the next delta
 * CRL and leaves it off the next full one; the OCSP responder answers good. Only a hold can be
 * released: a revocation is final.
 */
export async function releaseCertificate(
  pool: Pool,
  instruction: ReleaseInstruction,
): Promise<ReleaseResult> {
  const digest = instructionDigest(instruction as unknown as Record<string, unknown>);
  return withTransaction(pool, async (client) => {
    let done = await findInstruction(client, instruction.requestId, digest);
    if (!done && !(await recordInstruction(client, { ...instruction, digest }))) {
      done = await findInstruction(client, instruction.requestId, digest);
    }
    if (done?.response) return done.response as ReleaseResult;
    const serial = instruction.serial.toLowerCase();
    const { rows } = await client.query(
      'SELECT status FROM certificates WHERE issuer_id = $1 AND serial = $2 FOR UPDATE',
      [instruction.issuerId, serial],
    );
    const current = rows[0];
    if (!current || current.status === 'planned') {
      throw new AppError(
        'CERTIFICATE_UNKNOWN',
        `no certificate ${serial} from issuer ${instruction.issuerId}`,
        404,
      );
    }
    await requireEndEntity(client, instruction.issuerId, serial);
    if (current.status === 'revoked') {
      throw new AppError('CERTIFICATE_ALREADY_REVOKED', `certificate ${serial} is revoked, for good`, 409);
    }
    if (current.status !== 'hold') {
      throw new AppError('CERTIFICATE_NOT_ON_HOLD', `certificate ${serial} is not suspended`, 409);
    }
    const updated = await client.query(
      `UPDATE certificates SET status = 'good', revoked_at = NULL, revocation_reason = NULL, invalidity_date = NULL
        WHERE issuer_id = $1 AND serial = $2 RETURNING now() AS released_at`,
      [instruction.issuerId, serial],
    );
    const result: ReleaseResult = {
      issuerId: instruction.issuerId,
      serial,
      status: 'good',
      releasedAt: (updated.rows[0].released_at as Date).toISOString(),
    };
    await publishStatus(client, { issuerId: instruction.issuerId, serial, status: 'good' });
    await completeInstruction(client, instruction.requestId, result);
    await recordAudit(
      client,
      { name: 'ra', role: 'ra_instruction' },
      {
        action: 'certificate.release',
        subjectType: 'certificate',
        subjectId: `${instruction.issuerId}/${serial}`,
        before: { status: 'hold' },
        after: { status: 'good', requestId: instruction.requestId },
      },
    );
    return result;
  });
}
