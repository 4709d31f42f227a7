import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Device } from '@sm2ca/device';
import {
  AppError,
  type CaActionKind,
  CaActionParameters,
  type Config,
  caActionDigest,
  caActionKinds,
  caActionStanding,
  errorResponse,
  type Logger,
  recordAudit,
} from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import { caActionPerformers } from './ca-action-performers.ts';
import { type Issuer, loadIssuers } from './issuers.ts';
import { renewOcspSigners } from './key-ceremony.ts';
import {
  completeInstruction,
  findInstruction,
  instructionDigest,
  recordInstruction,
} from './request-ledger.ts';

export const CaActionInstructionSchema = Type.Object(
  {
    requestId: Type.String(),
    timestamp: Type.String(),
    operation: Type.Literal('ca-action'),
    actionId: Type.String({ pattern: '^[1-9][0-9]{0,17}$' }),
    kind: Type.Union(caActionKinds.map((k) => Type.Literal(k))),
    digest: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { additionalProperties: false },
);
export type CaActionInstruction = Static<typeof CaActionInstructionSchema>;

export interface CaActionResult {
  actionId: string;
  kind: CaActionKind;
  state: 'executed';
  result: Record<string, unknown>;
}

export interface CaActionContext {
  pool: Pool;
  device: Device;
  config: Config;
  log: Logger;
  /** The CA's issuers as issuance reads them; a new subordinate CA or RA key joins it. */
  issuers: Map<string, Issuer>;
}

const caActor = { name: 'ca', role: 'ca_action' };

/**
 * Carries out an approved CA-level action. The RA's signature says only that the RA asks: the CA
 * reads the action and its decisions from the database itself, recomputes the digest from the
 * stored parameters, and acts only on enough current approvals by other super administrators and
 * no rejection. The action row stays locked while the device works, so it is carried out once.
 */
export async function executeCaAction(
  ctx: CaActionContext,
  instruction: CaActionInstruction,
): Promise<CaActionResult> {
  const ledgerDigest = instructionDigest(instruction as unknown as Record<string, unknown>);
  let signersChanged = false;
  let outcome: CaActionResult;
  try {
    outcome = await withTransaction(ctx.pool, async (client) => {
      let done = await findInstruction(client, instruction.requestId, ledgerDigest);
      if (!done && !(await recordInstruction(client, { ...instruction, digest: ledgerDigest }))) {
        done = await findInstruction(client, instruction.requestId, ledgerDigest);
      }
      if (done?.response) return done.response as CaActionResult;
      const { rows } = await client.query(
        `SELECT kind, parameters, digest, state, approvals_required, expires_at <= now() AS expired
           FROM ca_actions WHERE id = $1 FOR UPDATE`,
        [instruction.actionId],
      );
      const action = rows[0];
      if (!action) throw new AppError('CA_ACTION_NOT_FOUND', `no CA action ${instruction.actionId}`, 404);
      const kind = action.kind as CaActionKind;
      const stored = caActionDigest(kind, action.parameters);
      if (
        kind !== instruction.kind ||
        !stored.equals(action.digest) ||
        stored.toString('hex') !== instruction.digest
      ) {
        throw new AppError(
          'CA_ACTION_DIGEST_MISMATCH',
          `CA action ${instruction.actionId} is not what was approved (kind, parameters and digest disagree)`,
          409,
        );
      }
      if (!Value.Check(CaActionParameters[kind], action.parameters)) {
        throw new AppError(
          'CA_ACTION_INVALID',
          `the parameters of CA action ${instruction.actionId} are malformed`,
          422,
        );
      }
      if (action.state !== 'approved') {
        throw new AppError(
          'CA_ACTION_NOT_APPROVED',
          `CA action ${instruction.actionId} is ${action.state}`,
          409,
          {
            state: action.state,
          },
        );
      }
      if (action.expired) {
        throw new AppError(
          'CA_ACTION_EXPIRED',
          `CA action ${instruction.actionId} expired before it was carried out`,
          409,
        );
      }
      const standing = await caActionStanding(client, instruction.actionId);
      const required = Math.max(action.approvals_required as number, ctx.config.caActions.approvals);
      if (standing.rejections > 0 || standing.approvals < required) {
        throw new AppError(
          'CA_ACTION_NOT_APPROVED',
          `CA action ${instruction.actionId} has ${standing.approvals} valid approvals of the ${required} needed` +
            (standing.rejections > 0 ? ' and a rejection' : ''),
          409,
          { ...standing, required },
        );
      }
      const performed = await caActionPerformers[kind](
        { actionId: instruction.actionId, client, device: ctx.device, config: ctx.config, actor: caActor },
        action.parameters as never,
      );
      signersChanged = performed.signersChanged;
      await client.query(
        "UPDATE ca_actions SET state = 'executed', executed_at = now(), result = $2 WHERE id = $1",
        [instruction.actionId, JSON.stringify(performed.result)],
      );
      const answer: CaActionResult = {
        actionId: instruction.actionId,
        kind,
        state: 'executed',
        result: performed.result,
      };
      await completeInstruction(client, instruction.requestId, answer);
      await recordAudit(client, caActor, {
        action: 'ca_action.execute',
        subjectType: 'ca_action',
        subjectId: instruction.actionId,
        before: { state: 'approved' },
        after: { state: 'executed', kind, approvals: standing.approvals, required, result: performed.result },
      });
      return answer;
    });
  } catch (err) {
    const { status, body } = errorResponse(err);
    if (status < 500) await auditRefusal(ctx.pool, instruction, body.error);
    throw err;
  }
  for (const [id, issuer] of await loadIssuers(ctx.pool)) ctx.issuers.set(id, issuer);
  // A revoked signer is replaced now rather than at the renewal job's next wake-up; a new CA gets its first.
  if (signersChanged) {
    await renewOcspSigners(ctx.pool, ctx.device, ctx.config, { actor: caActor }).catch((err: Error) =>
      ctx.log.error({ err }, 'OCSP signer renewal after a CA action failed; the renewal job tries again'),
    );
  }
  return outcome;
}

/** The refused change rolled back with its transaction: the refusal goes on record in one of its own. */
async function auditRefusal(
  pool: Pool,
  instruction: CaActionInstruction,
  err: { code: string; message: string },
): Promise<void> {
  await withTransaction(pool, (client) =>
    recordAudit(
      client,
      { name: 'ra', role: 'ra_instruction' },
      {
        action: 'ca_action.refuse',
        subjectType: 'ca_action',
        subjectId: instruction.actionId,
        after: {
          code: err.code,
          message: err.message,
          requestId: instruction.requestId,
          kind: instruction.kind,
        },
      },
    ),
  );
}
