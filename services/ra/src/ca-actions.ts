import { Type } from '@sinclair/typebox';
import {
  type Actor,
  AppError,
  allowedTo,
  caActionDigest,
  caActionStanding,
  type HttpServer,
  Paging,
  recordAudit,
  superAdminSql,
  withExample,
} from '@sm2ca/platform';
import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import { caActionDecisionExample, caActionExample, caActionRequestExample } from './ca-action-examples.ts';
import { type CaActionRequest, CaActionRequestBody, completeCaAction } from './ca-action-requests.ts';
import { CaActionView, caActionStates, listCaActions, lockCaAction, readCaAction } from './ca-action-view.ts';
import type { CaClient } from './ca-client.ts';
import { actorOf, IdParams, literals } from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';

export interface CaActionContext {
  pool: Pool;
  ca: CaClient;
  /** m of the m-of-n and the hours a request stays open (config caActions). */
  approvals: number;
  hours: number;
  /** The validity a subordinate CA gets unless the request says otherwise. */
  subordinateDays: number;
  /** Told after an RA key rotation, so this replica signs with the new key at once. */
  raKeyRotated(): void;
}

const path = '/v1/admin/ca-actions';
const tags = ['CA administration (dual control)'];

const DecisionBody = Type.Object(
  {
    digest: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: "the action's digest as the approver saw it; a decision is bound to it",
    }),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object({ state: Type.Optional(literals(caActionStates)), ...Paging });

/** n of the m-of-n: an action nobody could ever approve is refused when asked for, not left to expire. */
async function requireEnoughApprovers(
  client: PoolClient,
  requester: string,
  approvals: number,
): Promise<void> {
  const { rows } = await client.query(
    `SELECT count(*)::int AS n FROM operators o WHERE ${superAdminSql('o')} AND o.id <> $1`,
    [requester],
  );
  const n = rows[0].n as number;
  if (n < approvals) {
    throw new AppError(
      'CA_ACTION_TOO_FEW_APPROVERS',
      `a CA action needs ${approvals} approvals by other super administrators and there are ${n}`,
      409,
      { approvers: n, required: approvals },
    );
  }
}

/** A pending action past its time is closed on record (its own transaction), then refused. */
async function expire(pool: Pool, actor: Actor, id: string): Promise<never> {
  await withTransaction(pool, async (client) => {
    const updated = await client.query(
      "UPDATE ca_actions SET state = 'expired', decided_at = now() WHERE id = $1 AND state = 'pending'",
      [id],
    );
    if (updated.rowCount) {
      await recordAudit(client, actor, {
        action: 'ca_action.expire',
        subjectType: 'ca_action',
        subjectId: id,
        before: { state: 'pending' },
        after: { state: 'expired' },
      });
    }
  });
  throw new AppError('CA_ACTION_EXPIRED', `CA action ${id} expired before enough approvals came`, 409);
}

/**
 * Records one super administrator's decision. Nobody decides their own request or decides twice;
 * the decision must name the digest of what is decided; one rejection closes the action and the
 * m-th approval makes it approved. Returns the action's new state.
 */
async function decide(
  ctx: CaActionContext,
  actor: Actor & { id: string },
  id: string,
  decision: 'approve' | 'reject',
  body: { digest: string; reason?: string | undefined },
): Promise<string> {
  const outcome = await withTransaction(ctx.pool, async (client) => {
    const action = await lockCaAction(client, id);
    if (action.requested_by === actor.id) {
      throw new AppError('CA_ACTION_OWN_REQUEST', 'the super administrator who asked may not decide', 403);
    }
    if (action.state !== 'pending') {
      throw new AppError('CA_ACTION_CLOSED', `CA action ${id} is ${action.state}`, 409, {
        state: action.state,
      });
    }
    if (action.expired) return 'expired' as const;
    if (body.digest !== action.digest.toString('hex')) {
      throw new AppError(
        'CA_ACTION_DIGEST_MISMATCH',
        `the digest given is not that of CA action ${id}; read the action again before deciding`,
        409,
        { digest: action.digest.toString('hex') },
      );
    }
    const inserted = await client.query(
      `INSERT INTO ca_action_approvals (action_id, approver_id, decision, digest, reason)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (action_id, approver_id) DO NOTHING`,
      [id, actor.id, decision, action.digest, body.reason?.trim() ?? null],
    );
    if (inserted.rowCount === 0) {
      throw new AppError('CA_ACTION_ALREADY_DECIDED', `you decided CA action ${id} already`, 409);
    }
    const standing = await caActionStanding(client, id);
    const required = Math.max(action.approvals_required, ctx.approvals);
    const next =
      standing.rejections > 0 ? 'rejected' : standing.approvals >= required ? 'approved' : 'pending';
    if (next !== 'pending') {
      await client.query('UPDATE ca_actions SET state = $2, decided_at = now() WHERE id = $1', [id, next]);
    }
    await recordAudit(client, actor, {
      action: `ca_action.${decision}`,
      subjectType: 'ca_action',
      subjectId: id,
      before: { state: 'pending' },
      after: {
        state: next,
        digest: body.digest,
        reason: body.reason?.trim() ?? null,
        approvals: standing.approvals,
        required,
      },
    });
    return next;
  });
  if (outcome === 'expired') return expire(ctx.pool, actor, id);
  return outcome;
}

/**
 * Sends an approved action to the CA, which reads the approvals from the database itself before
 * acting and records the outcome. A CA that cannot be reached leaves the action approved for
 * POST …/execute to send again (same request id, so it is carried out once).
 */
async function execute(ctx: CaActionContext, id: string): Promise<CaActionView> {
  const action = await readCaAction(ctx.pool, id);
  if (action.state === 'executed') return action;
  if (action.state !== 'approved') {
    throw new AppError('CA_ACTION_NOT_APPROVED', `CA action ${id} is ${action.state}`, 409, {
      state: action.state,
    });
  }
  try {
    await ctx.ca.caAction({
      requestId: `ca-action-${id}`,
      actionId: id,
      kind: action.kind,
      digest: action.digest,
    });
  } catch (err) {
    if (err instanceof AppError) {
      throw new AppError(
        err.code,
        `${err.message}; CA action ${id} stays approved: POST ${path}/${id}/execute`,
        err.status,
        {
          ...err.details,
          actionId: id,
          state: 'approved',
        },
      );
    }
    throw err;
  }
  if (action.kind === 'rotate_ra_key') ctx.raKeyRotated();
  return readCaAction(ctx.pool, id);
}

export function registerCaActionRoutes(app: HttpServer, ctx: CaActionContext): void {
  const onError = auditRefusals(ctx.pool, 'ca_action');

  app.post(
    path,
    {
      config: { access: allowedTo('ca_action.request') },
      onError,
      schema: {
        tags,
        summary: 'A super administrator asks for a CA-level action; other super administrators approve it',
        description:
          `Revoke a subordinate CA, RA or OCSP-signer certificate (cACompromise/superseded), rotate the RA key, ` +
          'create a subordinate CA, or sign given bytes with a CA key. The action runs once m super ' +
          'administrators other than the requester have approved its digest (SM2CA_CA_ACTION_APPROVALS, ' +
          'default 2) within SM2CA_CA_ACTION_HOURS (default 24); one rejection ends it.',
        body: withExample(CaActionRequestBody, caActionRequestExample),
        response: { 201: withExample(CaActionView, caActionExample) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const view = await withTransaction(ctx.pool, async (client) => {
        await requireEnoughApprovers(client, actor.id, ctx.approvals);
        const { kind, parameters } = await completeCaAction(client, request.body as CaActionRequest, {
          subordinateDays: ctx.subordinateDays,
        });
        const { rows } = await client.query(
          `INSERT INTO ca_actions (kind, parameters, digest, requested_by, approvals_required, expires_at, state)
           VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6), 'pending') RETURNING id`,
          [
            kind,
            JSON.stringify(parameters),
            caActionDigest(kind, parameters),
            actor.id,
            ctx.approvals,
            ctx.hours,
          ],
        );
        const created = await readCaAction(client, String(rows[0].id));
        await recordAudit(client, actor, {
          action: 'ca_action.request',
          subjectType: 'ca_action',
          subjectId: created.id,
          after: { kind, parameters, digest: created.digest, approvalsRequired: ctx.approvals },
        });
        return created;
      });
      return reply.status(201).send(view);
    },
  );

  app.get(
    path,
    {
      config: { access: allowedTo('ca_action.read') },
      onError,
      schema: {
        tags,
        summary: 'CA actions, newest first',
        querystring: ListQuery,
        response: {
          200: withExample(Type.Object({ items: Type.Array(CaActionView) }), { items: [caActionExample] }),
        },
      },
    },
    async (request) => ({ items: await listCaActions(ctx.pool, request.query) }),
  );

  app.get(
    `${path}/:id`,
    {
      config: { access: allowedTo('ca_action.read') },
      onError,
      schema: {
        tags,
        summary: 'One CA action, its digest and its decisions',
        params: IdParams,
        response: { 200: withExample(CaActionView, caActionExample) },
      },
    },
    async (request) => readCaAction(ctx.pool, request.params.id),
  );

  for (const decision of ['approve', 'reject'] as const) {
    app.post(
      `${path}/:id/${decision}`,
      {
        config: { access: allowedTo('ca_action.decide') },
        onError,
        schema: {
          tags,
          summary:
            decision === 'approve'
              ? "Approve the action's digest; the m-th approval sends it to the CA at once"
              : 'Reject the action (a reason is required); one rejection ends it',
          params: IdParams,
          body: withExample(DecisionBody, caActionDecisionExample),
          response: { 200: withExample(CaActionView, caActionExample) },
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const { id } = request.params;
        if (decision === 'reject' && !request.body.reason?.trim()) {
          throw new AppError('REVIEW_REASON_REQUIRED', 'a rejection needs a reason', 400);
        }
        const state = await decide(ctx, actor, id, decision, request.body);
        return state === 'approved' ? execute(ctx, id) : readCaAction(ctx.pool, id);
      },
    );
  }

  app.post(
    `${path}/:id/execute`,
    {
      config: { access: allowedTo('ca_action.execute') },
      onError,
      schema: {
        tags,
        summary: 'Send an approved action the CA has not carried out yet to the CA again',
        params: IdParams,
        response: { 200: withExample(CaActionView, caActionExample) },
      },
    },
    async (request) => execute(ctx, request.params.id),
  );
}
