import { randomUUID } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import {
  type Actor,
  AppError,
  allowedTo,
  type HttpServer,
  Paging,
  recordAudit,
  requireEndEntity,
  withExample,
} from '@sm2ca/platform';
import { type PoolClient, withTransaction } from '@sm2ca/store';
import { reviewExample, revocationExample, revocationRequestExample } from './api-examples.ts';
import { type RevokeInstruction, revocationReasons } from './ca-client.ts';
import { lockCertificate } from './certificate-lock.ts';
import { twinOf } from './certificate-twin.ts';
import {
  concernOfCertificate,
  type Decider,
  deciderRefusals,
  requireDecider,
} from './operator-certificates.ts';
import {
  actorOf,
  IdParams,
  iso,
  literals,
  Nullable,
  type RaContext,
  ReviewBody,
  requireReason,
  Time,
} from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';

const Reason = literals(revocationReasons);
const revocationStatuses = ['submitted', 'approved', 'rejected', 'done'] as const;
const revocationKinds = ['revoke', 'release'] as const;
export type RevocationKind = (typeof revocationKinds)[number];

export const RevocationView = Type.Object({
  id: Type.String(),
  kind: literals(revocationKinds, {
    description: 'revoke: revocation or suspension (certificateHold); release: the end of a suspension',
  }),
  status: literals(revocationStatuses),
  issuerId: Type.String(),
  serial: Type.String(),
  reason: literals([...revocationReasons, 'removeFromCRL'], {
    description: 'RFC 5280 CRLReason; removeFromCRL for a release',
  }),
  applicationId: Nullable(
    Type.String({ description: 'the renewal or re-key whose review decided this revocation' }),
  ),
  requestedBy: Type.String(),
  enteredBy: Type.String(),
  enteredAt: Time,
  reviewedBy: Nullable(Type.String()),
  decidedAt: Nullable(Time),
  reviewReason: Nullable(Type.String()),
  doneAt: Nullable(Time),
  twin: Nullable(
    Type.Object(
      {
        issuerId: Type.String(),
        serial: Type.String(),
        included: Type.Boolean({
          description: 'revoked by this request too (includeTwin), for the same reason',
        }),
        doneAt: Nullable(Time),
      },
      {
        description:
          'the other certificate of a dual-enrollment pair (signature ↔ encryption); revoke it too with includeTwin',
      },
    ),
  ),
});
export type RevocationView = Static<typeof RevocationView>;

const RequestBody = Type.Object(
  {
    issuerId: Type.String({ minLength: 1, maxLength: 128 }),
    serial: Type.String({ pattern: '^[0-9A-Fa-f:]{1,64}$', description: 'hex, colons allowed' }),
    reason: Reason,
    requestedBy: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'who asked for the revocation: the holder, their organisation, the CA, …',
    }),
    includeTwin: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "true: also revoke the certificate's dual-enrollment twin in this request (one review, one CA instruction each)",
      }),
    ),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object({
  status: Type.Optional(literals(revocationStatuses)),
  kind: Type.Optional(literals(revocationKinds)),
  ...Paging,
});

/** Revocation requests with the names of who entered and who decided them; toRevocationView reads a row. */
export const revocationSelect = `
  SELECT v.*, e.name AS entered_by_name, r.name AS reviewed_by_name
    FROM revocation_requests v
    JOIN operators e ON e.id = v.entered_by
    LEFT JOIN operators r ON r.id = v.reviewed_by`;

type Row = Record<string, unknown>;

export function toRevocationView(row: Row): RevocationView {
  return {
    id: String(row.id),
    kind: row.kind as RevocationKind,
    status: row.status as RevocationView['status'],
    issuerId: row.issuer_id as string,
    serial: row.serial as string,
    reason: row.reason as RevocationView['reason'],
    applicationId: row.application_id == null ? null : String(row.application_id),
    requestedBy: row.requested_by as string,
    enteredBy: row.entered_by_name as string,
    enteredAt: iso(row.entered_at)!,
    reviewedBy: (row.reviewed_by_name as string | null) ?? null,
    decidedAt: iso(row.decided_at),
    reviewReason: (row.review_reason as string | null) ?? null,
    doneAt: iso(row.done_at),
    twin: row.twin_serial
      ? {
          issuerId: row.twin_issuer_id as string,
          serial: row.twin_serial as string,
          included: row.include_twin as boolean,
          doneAt: iso(row.twin_ca_done_at),
        }
      : null,
  };
}

async function readRevocation(client: Pick<PoolClient, 'query'>, id: string): Promise<RevocationView> {
  const { rows } = await client.query(`${revocationSelect} WHERE v.id = $1`, [id]);
  if (!rows[0]) throw new AppError('REVOCATION_NOT_FOUND', `no revocation request ${id}`, 404);
  return toRevocationView(rows[0]);
}

async function lockRevocation(client: PoolClient, id: string): Promise<Row> {
  const { rows } = await client.query('SELECT * FROM revocation_requests WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw new AppError('REVOCATION_NOT_FOUND', `no revocation request ${id}`, 404);
  return rows[0];
}

/** The CA instructions an approved request still needs: its certificate's, then its twin's when included. */
function pendingInstructions(row: Row): Array<RevokeInstruction & { twin: boolean }> {
  const reason = row.reason as RevokeInstruction['reason'];
  const pending: Array<RevokeInstruction & { twin: boolean }> = [];
  if (!row.ca_done_at) {
    pending.push({
      requestId: row.ca_request_id as string,
      issuerId: row.issuer_id as string,
      serial: row.serial as string,
      reason,
      twin: false,
    });
  }
  if (row.include_twin && !row.twin_ca_done_at) {
    pending.push({
      requestId: row.twin_ca_request_id as string,
      issuerId: row.twin_issuer_id as string,
      serial: row.twin_serial as string,
      reason,
      twin: true,
    });
  }
  return pending;
}

/** What the CA answered to one instruction of a request: the certificate's new status and since when. */
interface CaConfirmation {
  issuerId: string;
  serial: string;
  status: string;
  at: string;
}

/** A release sends the CA a release instruction; everything else is a revocation or suspension. */
async function sendInstruction(
  ctx: RaContext,
  kind: RevocationKind,
  instruction: RevokeInstruction,
): Promise<CaConfirmation> {
  if (kind === 'release') {
    const { reason: _reason, ...release } = instruction;
    const answer = await ctx.ca.release(release);
    return { issuerId: answer.issuerId, serial: answer.serial, status: answer.status, at: answer.releasedAt };
  }
  const answer = await ctx.ca.revoke(instruction);
  return { issuerId: answer.issuerId, serial: answer.serial, status: answer.status, at: answer.revokedAt };
}

/**
 * Sends an approved revocation to the CA and records that it is done: one instruction per
 * certificate, each under its own request id and recorded as the CA confirms it, so a retry
 * sends only what is unconfirmed and the CA answers a repeated id without acting twice. When
 * the CA cannot be reached or refuses, the request stays approved (its decision time stands).
 */
export async function instructCa(
  ctx: RaContext,
  actor: Actor,
  id: string,
  row: Row,
): Promise<RevocationView> {
  for (const { twin, ...instruction } of pendingInstructions(row)) {
    let answer: CaConfirmation;
    try {
      answer = await sendInstruction(ctx, row.kind as RevocationKind, instruction);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      throw new AppError(
        err.code,
        `${err.message}; revocation request ${id} stays approved, retry it with POST /v1/revocations/${id}/retry`,
        err.status,
        {
          ...err.details,
          revocationId: id,
          status: 'approved',
          issuerId: instruction.issuerId,
          serial: instruction.serial,
        },
        { cause: err },
      );
    }
    await recordConfirmed(ctx, actor, id, twin, answer);
  }
  return readRevocation(ctx.pool, id);
}

/** Records the CA's confirmation of one certificate of the request, and the request done once all are. */
async function recordConfirmed(
  ctx: RaContext,
  actor: Actor,
  id: string,
  twin: boolean,
  answer: CaConfirmation,
): Promise<void> {
  await withTransaction(ctx.pool, async (client) => {
    const current = await lockRevocation(client, id);
    const column = twin ? 'twin_ca_done_at' : 'ca_done_at';
    if (current.status !== 'approved' || current[column]) return;
    const { rows } = await client.query(
      `UPDATE revocation_requests SET ${column} = now() WHERE id = $1
        RETURNING ca_done_at IS NOT NULL AND (NOT include_twin OR twin_ca_done_at IS NOT NULL) AS complete`,
      [id],
    );
    const complete = rows[0].complete as boolean;
    if (complete) {
      await client.query("UPDATE revocation_requests SET status = 'done', done_at = now() WHERE id = $1", [
        id,
      ]);
    }
    const release = current.kind === 'release';
    const certificate = {
      issuerId: answer.issuerId,
      serial: answer.serial,
      certificateStatus: answer.status,
      [release ? 'releasedAt' : 'revokedAt']: answer.at,
      ...(current.include_twin ? { twin } : {}),
    };
    await recordAudit(client, actor, {
      action: `${release ? 'release' : 'revocation'}.${complete ? 'done' : 'certificate_done'}`,
      subjectType: 'revocation_request',
      subjectId: id,
      before: { status: 'approved' },
      after: { status: complete ? 'done' : 'approved', ...certificate },
    });
  });
}

/**
 * The open request that would revoke this certificate already, as its subject or as an included
 * twin: a second one would have the reviewer decide the same thing twice.
 */
async function refuseOpenRevocation(client: PoolClient, issuerId: string, serial: string): Promise<void> {
  const open = await client.query(
    `SELECT id FROM revocation_requests
      WHERE status IN ('submitted', 'approved')
        AND ((issuer_id = $1 AND serial = $2) OR (include_twin AND twin_issuer_id = $1 AND twin_serial = $2))`,
    [issuerId, serial],
  );
  if (open.rows[0]) {
    throw new AppError('REVOCATION_PENDING', `revocation request ${open.rows[0].id} is open already`, 409, {
      revocationId: String(open.rows[0].id),
      issuerId,
      serial,
    });
  }
}

/** A certificate's status, refused when there is nothing left to revoke for `reason`. */
/** An issued certificate's status, share-locked for the caller's transaction; 404 for any other serial. */
async function issuedStatus(client: PoolClient, issuerId: string, serial: string): Promise<string> {
  await lockCertificate(client, issuerId, serial);
  const cert = await client.query('SELECT status FROM certificates WHERE issuer_id = $1 AND serial = $2', [
    issuerId,
    serial,
  ]);
  const status = cert.rows[0]?.status as string | undefined;
  if (!status || status === 'planned') {
    throw new AppError('CERTIFICATE_NOT_FOUND', `issuer ${issuerId} has no certificate ${serial}`, 404);
  }
  return status;
}

async function requireRevocable(
  client: PoolClient,
  issuerId: string,
  serial: string,
  reason: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  const status = await issuedStatus(client, issuerId, serial);
  if (status === 'revoked' || (status === 'hold' && reason === 'certificateHold')) {
    throw new AppError('CERTIFICATE_ALREADY_REVOKED', `certificate ${serial} is ${status} already`, 409, {
      status,
      ...details,
    });
  }
}

interface RevocationEntry {
  kind: RevocationKind;
  issuerId: string;
  /** Hex, colons allowed. */
  serial: string;
  reason: RevokeInstruction['reason'] | 'removeFromCRL';
  requestedBy: string;
  includeTwin: boolean;
}

/** A certificate on hold, refused otherwise: only a suspension can be released. */
async function requireReleasable(
  client: PoolClient,
  issuerId: string,
  serial: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  const status = await issuedStatus(client, issuerId, serial);
  if (status === 'revoked') {
    throw new AppError(
      'CERTIFICATE_REVOKED',
      `certificate ${serial} is revoked; a revocation is final`,
      409,
      {
        status,
        ...details,
      },
    );
  }
  if (status !== 'hold') {
    throw new AppError('CERTIFICATE_NOT_ON_HOLD', `certificate ${serial} is ${status}, not suspended`, 409, {
      status,
      ...details,
    });
  }
}

/**
 * Records a revocation, suspension or release request as entered by `actor`, in the caller's
 * transaction, after the checks that refuse it: the certificate's state, an end-entity
 * certificate, no open request for it (nor for its twin when included).
 */
export async function enterRevocation(
  client: PoolClient,
  actor: Actor & { id: string },
  entry: RevocationEntry,
): Promise<RevocationView> {
  const { issuerId, reason, includeTwin, kind } = entry;
  const serial = entry.serial.replaceAll(':', '').toLowerCase();
  const checkState = (issuer: string, number: string, details?: Record<string, unknown>) =>
    kind === 'release'
      ? requireReleasable(client, issuer, number, details)
      : requireRevocable(client, issuer, number, reason, details);
  await checkState(issuerId, serial);
  await requireEndEntity(client, issuerId, serial);
  await refuseOpenRevocation(client, issuerId, serial);
  const twin = await twinOf(client, issuerId, serial);
  if (includeTwin) {
    if (!twin) {
      throw new AppError(
        'CERTIFICATE_HAS_NO_TWIN',
        `certificate ${serial} of issuer ${issuerId} is not one of a dual-enrollment pair; leave out includeTwin`,
        422,
      );
    }
    await checkState(twin.issuerId, twin.serial, { twin });
    await refuseOpenRevocation(client, twin.issuerId, twin.serial);
  }
  const { rows } = await client.query(
    `INSERT INTO revocation_requests (kind, status, issuer_id, serial, reason, requested_by, entered_by,
                                     twin_issuer_id, twin_serial, include_twin)
     VALUES ($1, 'submitted', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      kind,
      issuerId,
      serial,
      reason,
      entry.requestedBy.trim(),
      actor.id,
      twin?.issuerId ?? null,
      twin?.serial ?? null,
      includeTwin,
    ],
  );
  const created = await readRevocation(client, String(rows[0].id));
  await recordAudit(client, actor, {
    action: kind === 'release' ? 'release.submit' : 'revocation.submit',
    subjectType: 'revocation_request',
    subjectId: created.id,
    after: created,
  });
  return created;
}

/**
 * A decision on a submitted revocation, freeze or unfreeze request by someone other than its
 * entry clerk: a reviewer, or for an operator's own certificate a super admin (requireDecider).
 * On approval the RA instructs the CA at once.
 */
export async function decideRevocation(
  ctx: RaContext,
  actor: Actor & { id: string },
  id: string,
  { decision, reason }: Static<typeof ReviewBody>,
  decider: Decider,
): Promise<RevocationView> {
  requireReason(decision, reason);
  const decided = await withTransaction(ctx.pool, async (client) => {
    const row = await lockRevocation(client, id);
    requireDecider(
      decider,
      actor,
      await concernOfCertificate(client, row.issuer_id as string, row.serial as string),
    );
    if (String(row.entered_by) === actor.id) {
      throw new AppError('SAME_OPERATOR', 'the operator who entered a request may not review it', 403);
    }
    if (row.status !== 'submitted') {
      throw new AppError(
        'REVOCATION_ALREADY_REVIEWED',
        `revocation request ${id} is already ${row.status}`,
        409,
        {
          status: row.status,
        },
      );
    }
    // Checked again on the way to the CA: a request entered before this check existed is
    // refused here and stays submitted for a reviewer to reject.
    if (decision === 'approve') {
      await requireEndEntity(client, row.issuer_id as string, row.serial as string);
    }
    const status = decision === 'approve' ? 'approved' : 'rejected';
    const caRequestId = decision === 'approve' ? randomUUID() : null;
    const twinCaRequestId = decision === 'approve' && row.include_twin ? randomUUID() : null;
    const { rows } = await client.query(
      `UPDATE revocation_requests
          SET status = $2, reviewed_by = $3, decided_at = now(), review_reason = $4, ca_request_id = $5,
              twin_ca_request_id = $6
        WHERE id = $1 RETURNING *`,
      [id, status, actor.id, reason?.trim() ?? null, caRequestId, twinCaRequestId],
    );
    await recordAudit(client, actor, {
      action: `${row.kind === 'release' ? 'release' : 'revocation'}.${decision}`,
      subjectType: 'revocation_request',
      subjectId: id,
      before: { status: row.status },
      after: {
        status,
        reviewReason: reason?.trim() ?? null,
        caRequestId,
        ...(twinCaRequestId ? { twinCaRequestId } : {}),
      },
    });
    return rows[0] as Row;
  });
  if (decided.status === 'rejected') return readRevocation(ctx.pool, id);
  return instructCa(ctx, actor, id, decided);
}

export function registerRevocationRoutes(app: HttpServer, ctx: RaContext): void {
  app.post(
    '/v1/revocations',
    {
      config: { access: allowedTo('revocation.enter') },
      schema: {
        tags: ['revocations'],
        summary:
          'An entry clerk records a request to revoke (or suspend, with certificateHold) a certificate',
        body: withExample(RequestBody, revocationRequestExample),
        response: { 201: withExample(RevocationView, revocationExample) },
      },
    },
    async (request, reply) => {
      const { issuerId, reason, requestedBy, includeTwin = false } = request.body;
      const view = await withTransaction(ctx.pool, (client) =>
        enterRevocation(client, actorOf(request), {
          kind: 'revoke',
          issuerId,
          serial: request.body.serial,
          reason,
          requestedBy,
          includeTwin,
        }),
      );
      return reply.status(201).send(view);
    },
  );

  app.post(
    '/v1/revocations/:id/review',
    {
      config: { access: allowedTo('revocation.review') },
      onError: auditRefusals(ctx.pool, 'revocation_request', undefined, deciderRefusals),
      schema: {
        tags: ['revocations'],
        summary:
          "A reviewer other than the entry clerk decides; on approval the RA instructs the CA at once. An operator's own certificate is decided at /v1/admin/operator-certificates/revocations/:id/review",
        params: IdParams,
        body: withExample(ReviewBody, reviewExample),
        response: { 200: withExample(RevocationView, revocationExample) },
      },
    },
    async (request) => decideRevocation(ctx, actorOf(request), request.params.id, request.body, 'reviewer'),
  );

  app.post(
    '/v1/revocations/:id/retry',
    {
      config: { access: allowedTo('revocation.retry') },
      schema: {
        tags: ['revocations'],
        summary: 'Sends an approved revocation the CA has not confirmed to the CA again',
        params: IdParams,
        response: { 200: withExample(RevocationView, revocationExample) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { id } = request.params;
      const { rows } = await ctx.pool.query('SELECT * FROM revocation_requests WHERE id = $1', [id]);
      const row = rows[0] as Row | undefined;
      if (!row) throw new AppError('REVOCATION_NOT_FOUND', `no revocation request ${id}`, 404);
      if (row.status !== 'approved') {
        throw new AppError(
          'REVOCATION_NOT_APPROVED',
          `revocation request ${id} is ${row.status}, not approved`,
          409,
          {
            status: row.status,
          },
        );
      }
      await requireEndEntity(ctx.pool, row.issuer_id as string, row.serial as string);
      return instructCa(ctx, actor, id, row);
    },
  );

  app.get(
    '/v1/revocations',
    {
      config: { access: allowedTo('revocation.read') },
      schema: {
        tags: ['revocations'],
        summary: 'Revocation requests, newest first',
        querystring: ListQuery,
        response: {
          200: withExample(Type.Object({ items: Type.Array(RevocationView) }), {
            items: [revocationExample],
          }),
        },
      },
    },
    async (request) => {
      const { status, kind, limit, offset } = request.query;
      const { rows } = await ctx.pool.query(
        `${revocationSelect} WHERE ($1::text IS NULL OR v.status = $1) AND ($2::text IS NULL OR v.kind = $2)
          ORDER BY v.id DESC LIMIT $3 OFFSET $4`,
        [status ?? null, kind ?? null, limit, offset],
      );
      return { items: rows.map(toRevocationView) };
    },
  );

  app.get(
    '/v1/revocations/:id',
    {
      config: { access: allowedTo('revocation.read') },
      schema: {
        tags: ['revocations'],
        params: IdParams,
        response: { 200: withExample(RevocationView, revocationExample) },
      },
    },
    async (request) => readRevocation(ctx.pool, request.params.id),
  );
}
