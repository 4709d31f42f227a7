import { Type } from '@sinclair/typebox';
import {
  addOperatorAs,
  allowedTo,
  approveRoleChange,
  disableOperator,
  type HttpServer,
  listOperators,
  listRoleChanges,
  readOperatorRecord,
  rejectRoleChange,
  requestRoleChange,
  roles,
  rotateCredential,
  withExample,
} from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import {
  credentialExample,
  newOperatorExample,
  operatorExample,
  roleChangeExample,
  roleChangeRequestExample,
} from './operator-admin-examples.ts';
import { actorOf, IdParams, literals, Nullable, Time } from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';

const RoleList = Type.Array(literals(roles), { minItems: 1, maxItems: roles.length, uniqueItems: true });

const OperatorRecord = Type.Object({
  id: Type.String(),
  name: Type.String(),
  identity: Type.String({ description: 'what names the person outside this system, e.g. a staff ID number' }),
  roles: Type.Array(literals(roles)),
  createdAt: Time,
  disabledAt: Nullable(Time),
});

const RoleChange = Type.Object({
  id: Type.String(),
  operatorId: Type.String(),
  roles: Type.Array(literals(roles)),
  status: literals(['pending', 'approved', 'rejected']),
  requestedBy: Type.String(),
  requestedAt: Time,
  decidedBy: Nullable(Type.String()),
  decidedAt: Nullable(Time),
});

const Credential = Type.String({
  description: 'the bearer credential, shown this once; only its digest is kept',
});

const admin = ['administration'];

/**
 * Operator management on the RA (/v1/admin): super admins add, list, disable operators and
 * rotate their credentials; a change of roles is asked by one super admin and takes effect when
 * a second one approves it. Every change and every refusal of an operator is audited.
 */
export function registerOperatorAdminRoutes(app: HttpServer, pool: Pool): void {
  const onError = auditRefusals(pool, 'operator');
  const onChangeError = auditRefusals(pool, 'operator_role_change');

  app.post(
    '/v1/admin/operators',
    {
      config: { access: allowedTo('operator.add') },
      onError,
      schema: {
        tags: admin,
        summary: 'Add an operator with compatible roles; their credential is in the answer, once',
        body: withExample(
          Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 64 }),
              identity: Type.String({ minLength: 1, maxLength: 64 }),
              roles: RoleList,
            },
            { additionalProperties: false },
          ),
          newOperatorExample,
        ),
        response: {
          201: withExample(Type.Object({ operator: OperatorRecord, credential: Credential }), {
            operator: operatorExample,
            credential: credentialExample,
          }),
        },
      },
    },
    async (request, reply) => {
      const { operator, credential } = await addOperatorAs(pool, actorOf(request), request.body);
      const record = await readOperatorRecord(pool, operator.id);
      return reply.code(201).send({ operator: record, credential });
    },
  );

  app.get(
    '/v1/admin/operators',
    {
      config: { access: allowedTo('operator.list') },
      onError,
      schema: {
        tags: admin,
        summary: 'Every operator with their roles, disabled ones included',
        response: {
          200: withExample(Type.Object({ items: Type.Array(OperatorRecord) }), { items: [operatorExample] }),
        },
      },
    },
    async () => ({ items: await listOperators(pool) }),
  );

  app.post(
    '/v1/admin/operators/:id/disable',
    {
      config: { access: allowedTo('operator.disable') },
      onError,
      schema: {
        tags: admin,
        summary:
          'Disable an operator: their credential stops working; their pending role changes are rejected',
        params: IdParams,
        response: {
          200: withExample(OperatorRecord, { ...operatorExample, disabledAt: '2026-03-01T08:00:00.000Z' }),
        },
      },
    },
    async (request) => disableOperator(pool, actorOf(request), request.params.id),
  );

  app.post(
    '/v1/admin/operators/:id/credential',
    {
      config: { access: allowedTo('operator.rotate_credential') },
      onError,
      schema: {
        tags: admin,
        summary: 'Give an operator a new credential; the old one stops working',
        params: IdParams,
        response: {
          200: withExample(Type.Object({ operator: OperatorRecord, credential: Credential }), {
            operator: operatorExample,
            credential: credentialExample,
          }),
        },
      },
    },
    async (request) => rotateCredential(pool, actorOf(request), request.params.id),
  );

  app.post(
    '/v1/admin/operators/:id/role-changes',
    {
      config: { access: allowedTo('operator.request_role_change') },
      onError,
      schema: {
        tags: admin,
        summary: "Ask for an operator's roles to become the given set; a second administrator approves it",
        params: IdParams,
        body: withExample(
          Type.Object({ roles: RoleList }, { additionalProperties: false }),
          roleChangeRequestExample,
        ),
        response: { 201: withExample(RoleChange, roleChangeExample) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await requestRoleChange(pool, actorOf(request), request.params.id, request.body.roles)),
  );

  app.get(
    '/v1/admin/role-changes',
    {
      config: { access: allowedTo('operator.list') },
      onError: onChangeError,
      schema: {
        tags: admin,
        summary: 'Role changes, oldest first; pending ones wait for a second administrator',
        querystring: Type.Object({ status: Type.Optional(literals(['pending', 'approved', 'rejected'])) }),
        response: {
          200: withExample(Type.Object({ items: Type.Array(RoleChange) }), { items: [roleChangeExample] }),
        },
      },
    },
    async (request) => ({ items: await listRoleChanges(pool, request.query.status) }),
  );

  app.post(
    '/v1/admin/role-changes/:id/approve',
    {
      config: { access: allowedTo('operator.approve_role_change') },
      onError: onChangeError,
      schema: {
        tags: admin,
        summary: 'Approve a role change another administrator asked for; it takes effect now',
        params: IdParams,
        response: {
          200: withExample(RoleChange, {
            ...roleChangeExample,
            status: 'approved',
            decidedBy: '2',
            decidedAt: '2026-02-03T11:00:00.000Z',
          }),
        },
      },
    },
    async (request) => approveRoleChange(pool, actorOf(request), request.params.id),
  );

  app.post(
    '/v1/admin/role-changes/:id/reject',
    {
      config: { access: allowedTo('operator.approve_role_change') },
      onError: onChangeError,
      schema: {
        tags: admin,
        summary: 'Turn down a role change (or withdraw one you asked for)',
        params: IdParams,
        response: {
          200: withExample(RoleChange, {
            ...roleChangeExample,
            status: 'rejected',
            decidedBy: '2',
            decidedAt: '2026-02-03T11:00:00.000Z',
          }),
        },
      },
    },
    async (request) => rejectRoleChange(pool, actorOf(request), request.params.id),
  );
}
