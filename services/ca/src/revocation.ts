import { type Static, Type } from '@sinclair/typebox';
import { parseCertificate, publicKeyOfSpki, spkiSha256 } from '@sm2ca/pki';
import {
  AppError,
  type Counter,
  DateTime,
  instructionWindowMs,
  parseDateTime,
  type RevocationReason,
  recordAudit,
  requireEndEntity,
  revocationReasons,
} from '@sm2ca/platform';
import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import { publishStatus } from './certificate-events.ts';
import { oweKmKeyRevocation } from './km-key-revocations.ts';
import {
  completeInstruction,
  findInstruction,
  instructionDigest,
  recordInstruction,
} from './request-ledger.ts';

export const RevokeInstructionSchema = Type.Object(
  {
    requestId: Type.String(),
    timestamp: Type.String(),
    operation: Type.Literal('revoke'),
    issuerId: Type.String({ minLength: 1, maxLength: 64 }),
    serial: Type.String({ pattern: '^[0-9A-Fa-f]{2,40}$' }),
    reason: Type.Union(
      revocationReasons.map((r) => Type.Literal(r)) as [ReturnType<typeof Type.Literal<RevocationReason>>],
    ),
    invalidityDate: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);

export type RevokeInstruction = Static<typeof RevokeInstructionSchema>;

export interface RevokeResult {
  issuerId: string;
  serial: string;
  status: 'revoked' | 'hold';
  revokedAt: string;
}

/** The certificate's key is never certified again (compromised_keys). */
async function markKeyCompromised(
  client: PoolClient,
  issuerId: string,
  serial: string,
  der: Buffer,
): Promise<void> {
  const publicKey = publicKeyOfSpki(parseCertificate(new Uint8Array(der)).spki);
  await client.query(
    `INSERT INTO compromised_keys (spki_sha256, issuer_id, serial) VALUES ($1, $2, $3)
     ON CONFLICT (spki_sha256) DO NOTHING`,
    [spkiSha256(publicKey), issuerId, serial],
  );
}

/**
 * Revocation or suspension (certificateHold) of an issued certificate, with its
 * status event and, for a key the KM escrows, the key revocation owed to the KM, in one transaction. A suspended certificate may still be
 * revoked for good; nothing else moves a certificate back.
 */
/** `revoked` counts revocations and suspensions by reason once each, not a replayed instruction's answer. */
export async function revokeCertificate(
  pool: Pool,
  instruction: RevokeInstruction,
  revoked: Counter<'reason'>,
): Promise<RevokeResult> {
  const invalidityDate = instruction.invalidityDate ? parseDateTime(instruction.invalidityDate) : null;
  // A compromise is known only after it happened; a far-future date would also be unwritable in every later CRL.
  if (invalidityDate && invalidityDate.getTime() > Date.now() + instructionWindowMs) {
    throw new AppError('INSTRUCTION_INVALID', 'invalidityDate: lies in the future', 400);
  }
  const digest = instructionDigest(instruction as unknown as Record<string, unknown>);
  let changed = false;
  const answer = await withTransaction(pool, async (client) => {
    let done = await findInstruction(client, instruction.requestId, digest);
    if (!done && !(await recordInstruction(client, { ...instruction, digest }))) {
      done = await findInstruction(client, instruction.requestId, digest);
    }
    if (done?.response) return done.response as RevokeResult;
    const serial = instruction.serial.toLowerCase();
    const { rows } = await client.query(
      'SELECT status, revocation_reason, der FROM certificates WHERE issuer_id = $1 AND serial = $2 FOR UPDATE',
      [instruction.issuerId, serial],
    );
    const current = rows[0];
    if (!current) {
      throw new AppError(
        'CERTIFICATE_UNKNOWN',
        `no certificate ${serial} from issuer ${instruction.issuerId}`,
        404,
      );
    }
    // The RA's own checks already refuse these; its key alone must not be enough to revoke the hierarchy.
    await requireEndEntity(client, instruction.issuerId, serial);
    if (current.status === 'planned') {
      throw new AppError('CERTIFICATE_NOT_ISSUED', `certificate ${serial} was never issued`, 409);
    }
    if (current.status === 'revoked') {
      throw new AppError('CERTIFICATE_ALREADY_REVOKED', `certificate ${serial} is already revoked`, 409);
    }
    const hold = instruction.reason === 'certificateHold';
    if (hold && current.status === 'hold') {
      throw new AppError('CERTIFICATE_ALREADY_ON_HOLD', `certificate ${serial} is already suspended`, 409);
    }
    const status = hold ? 'hold' : 'revoked';
    const updated = await client.query(
      `UPDATE certificates SET status = $3, revoked_at = now(), revocation_reason = $4, invalidity_date = $5
        WHERE issuer_id = $1 AND serial = $2 RETURNING revoked_at`,
      [instruction.issuerId, serial, status, instruction.reason, invalidityDate],
    );
    const result: RevokeResult = {
      issuerId: instruction.issuerId,
      serial,
      status,
      revokedAt: (updated.rows[0].revoked_at as Date).toISOString(),
    };
    await publishStatus(client, { issuerId: instruction.issuerId, serial, status });
    if (instruction.reason === 'keyCompromise') {
      await markKeyCompromised(client, instruction.issuerId, serial, current.der);
    }
    // A suspension keeps the escrowed key current: it may yet be released.
    if (!hold) await oweKmKeyRevocation(client, instruction.issuerId, serial);
    await completeInstruction(client, instruction.requestId, result);
    await recordAudit(
      client,
      { name: 'ra', role: 'ra_instruction' },
      {
        action: hold ? 'certificate.suspend' : 'certificate.revoke',
        subjectType: 'certificate',
        subjectId: `${instruction.issuerId}/${serial}`,
        before: { status: current.status },
        after: { status, reason: instruction.reason, requestId: instruction.requestId },
      },
    );
    changed = true;
    return result;
  });
  // After the commit: a transaction that rolled back revoked nothing.
  if (changed) revoked.inc({ reason: instruction.reason });
  return answer;
}
