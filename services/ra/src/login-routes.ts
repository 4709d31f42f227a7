import rateLimit from '@fastify/rate-limit';
import { Type } from '@sinclair/typebox';
import {
  AppError,
  allowedTo,
  endSession,
  type HttpServer,
  isSessionToken,
  recordAudit,
  withExample,
} from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { enrolForLogin } from './login-enrolment.ts';
import { issueChallenge, type LoginContext, login } from './operator-login.ts';
import { actorOf, IdParams } from './ra-context.ts';
import { auditRefusals } from './refusal-audit.ts';

const ChallengeBody = Type.Object(
  {
    certificate: Type.String({
      minLength: 1,
      maxLength: 16_384,
      description: 'the operator-sign certificate our CA issued to the operator: base64 DER or PEM',
    }),
  },
  { additionalProperties: false },
);

const ChallengeView = Type.Object({
  challenge: Type.String({
    description: 'sign its UTF-8 bytes: SM2 with SM3 under the GM default ID 1234567812345678',
  }),
  expiresAt: Type.String({ format: 'date-time' }),
});

const LoginBody = Type.Object(
  {
    challenge: Type.String({ minLength: 1, maxLength: 1024 }),
    signature: Type.String({
      pattern: '^[A-Za-z0-9+/]+={0,2}$',
      maxLength: 256,
      description: 'DER SM2 signature, base64',
    }),
    totp: Type.String({ pattern: '^[0-9]{6}$' }),
  },
  { additionalProperties: false },
);

const SessionView = Type.Object({
  token: Type.String({ description: 'send as Authorization: Bearer <token>; shown once' }),
  tokenType: Type.Literal('Bearer'),
  expiresAt: Type.String({ format: 'date-time' }),
  operator: Type.Object({ id: Type.String(), name: Type.String() }),
});

const EnrolBody = Type.Object(
  {
    issuerId: Type.String({ minLength: 1, maxLength: 128 }),
    serial: Type.String({ pattern: '^[0-9A-Fa-f:]{1,64}$' }),
    newTotp: Type.Optional(
      Type.Boolean({ description: 'make a new TOTP secret even if the operator has one' }),
    ),
  },
  { additionalProperties: false },
);

const EnrolmentView = Type.Object({
  operatorId: Type.String(),
  issuerId: Type.String(),
  serial: Type.String(),
  kind: Type.Literal('person'),
  totp: Type.Optional(Type.Object({ secret: Type.String(), uri: Type.String() })),
});

const challengeExample = {
  challenge:
    'SM2CA operator login\noperator: 7\ncertificate: issuing-ca-1/5f1c0a\nnonce: q3l1Qx0n2rP0wm0c8f3s9nVvYy1m0q4uT3x8aQe2b7c\nexpires: 2026-12-03T08:02:00.000Z',
  expiresAt: '2026-12-03T08:02:00.000Z',
};

/**
 * Certificate login (issue 11): a challenge, signed with the operator's own key under the GM
 * default ID, plus a TOTP code, gives a short-lived session token; logout ends it. A super admin
 * binds an operator-sign certificate, issued through the RA workflow on a super admin's approval,
 * to the operator it was applied for.
 */
export async function registerLoginRoutes(
  app: HttpServer,
  context: LoginContext & { challengesPerMinute: number },
): Promise<void> {
  // Challenges are anonymous and each costs a certificate look-up and a row: limited per client
  // address (SM2CA_LOGIN_CHALLENGES_PER_MINUTE), in memory per replica. Only routes that ask are limited.
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, limit) =>
      new AppError(
        'LOGIN_CHALLENGE_RATE_LIMITED',
        `too many login challenges; retry in ${limit.after}`,
        429,
        {
          retryAfterSeconds: Math.ceil(limit.ttl / 1000),
        },
      ),
  });
  app.post(
    '/v1/login/challenge',
    {
      config: {
        access: 'public',
        rateLimit: { max: context.challengesPerMinute, timeWindow: 60_000 },
      },
      schema: {
        tags: ['login'],
        summary: 'A one-time challenge for the holder of an operator login certificate',
        body: withExample(ChallengeBody, { certificate: 'MIIB…' }),
        response: { 200: withExample(ChallengeView, challengeExample) },
      },
    },
    async (request) => {
      const { challenge, expiresAt } = await issueChallenge(context, request.body.certificate);
      return { challenge, expiresAt: expiresAt.toISOString() };
    },
  );

  app.post(
    '/v1/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['login'],
        summary: 'Logs in with the signed challenge and a TOTP code; answers a session token',
        body: withExample(LoginBody, {
          challenge: challengeExample.challenge,
          signature: 'MEUCIQ…',
          totp: '123456',
        }),
        response: { 200: SessionView },
      },
    },
    async (request) => {
      const session = await login(context, request.body);
      return {
        token: session.token,
        tokenType: 'Bearer' as const,
        expiresAt: session.expiresAt.toISOString(),
        operator: session.operator,
      };
    },
  );

  app.post(
    '/v1/logout',
    {
      config: { access: allowedTo('session.end') },
      schema: {
        tags: ['login'],
        summary: 'Ends the session whose token authorises this request',
        response: { 200: withExample(Type.Object({ ended: Type.Boolean() }), { ended: true }) },
      },
    },
    async (request) => {
      const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
      if (!isSessionToken(token)) {
        throw new AppError('LOGOUT_NOT_A_SESSION', 'only a session token can be logged out', 400);
      }
      const actor = actorOf(request);
      return withTransaction(context.pool, async (client) => {
        const ended = await endSession(client, token, context.settings.now());
        await recordAudit(client, actor, {
          action: 'operator.logout',
          subjectType: 'operator',
          subjectId: actor.id,
          after: { ended },
        });
        return { ended };
      });
    },
  );

  app.post(
    '/v1/operators/:id/login-enrolment',
    {
      config: { access: allowedTo('operator.enrol_login') },
      onError: auditRefusals(context.pool, 'operator'),
      schema: {
        tags: ['login'],
        summary:
          'Binds an operator-sign certificate to an operator, who from then on logs in with it and TOTP',
        params: IdParams,
        body: withExample(EnrolBody, { issuerId: 'issuing-ca-1', serial: '5f1c0a' }),
        response: { 201: EnrolmentView },
      },
    },
    async (request, reply) => {
      const enrolment = await enrolForLogin(context.pool, context.seal, actorOf(request), {
        operatorId: request.params.id,
        ...request.body,
      });
      return reply.code(201).send(enrolment);
    },
  );
}
