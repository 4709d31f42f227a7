import { type TSchema, Type } from '@sinclair/typebox';
import { withExample } from '@sm2ca/platform';

/** The CRL service's answers as the OpenAPI document shows them (values from a real run). */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = Type.String({ format: 'date-time' });
const serial = '047486ac30b0188b29c85a61320b67cb';

export const fileParams = (example: string) =>
  Type.Object({ file: Type.String({ maxLength: 200, examples: [example] }) });

export const PublicationSchema = withExample(
  Type.Object({
    issuerId: Type.String(),
    serial: Type.String(),
    revocations: Type.Array(
      Type.Object({
        status: Type.Union([Type.Literal('revoked'), Type.Literal('hold')]),
        reason: Nullable(Type.String()),
        revokedAt: Time,
        firstCrl: Type.Optional(
          Type.Object({
            number: Type.String(),
            kind: Type.Union([Type.Literal('full'), Type.Literal('delta')]),
            publishedAt: Time,
            delaySeconds: Type.Number(),
          }),
        ),
        clearedByCrl: Type.Optional(
          Type.String({ description: 'the first CRL without it (released from hold)' }),
        ),
      }),
    ),
  }),
  {
    issuerId: 'sub',
    serial,
    revocations: [
      {
        status: 'revoked',
        reason: 'keyCompromise',
        revokedAt: '2026-12-02T10:49:00.817Z',
        firstCrl: {
          number: '2',
          kind: 'delta',
          publishedAt: '2026-12-02T10:49:02.853Z',
          delaySeconds: 2.036,
        },
      },
    ],
  },
);

const CrlSummary = Type.Object({
  number: Type.String(),
  thisUpdate: Time,
  nextUpdate: Time,
  entries: Type.Integer(),
  publishedAt: Time,
  baseNumber: Type.Optional(Type.String({ description: 'the full CRL a delta is based on' })),
});

const Seconds = Nullable(Type.Number());

export const StatsSchema = withExample(
  Type.Object({
    publisher: Type.Object({ id: Type.String(), leader: Type.Boolean() }),
    issuers: Type.Array(
      Type.Object({
        issuerId: Type.String(),
        full: Type.Optional(CrlSummary),
        delta: Type.Optional(CrlSummary),
        revocations: Type.Object({
          published: Type.Integer(),
          p50Seconds: Seconds,
          p99Seconds: Seconds,
          maxSeconds: Seconds,
          pending: Type.Integer(),
          oldestPendingSeconds: Seconds,
        }),
      }),
    ),
  }),
  {
    publisher: { id: 'vm:10093', leader: true },
    issuers: [
      {
        issuerId: 'sub',
        full: {
          number: '3',
          thisUpdate: '2026-12-02T10:49:02.000Z',
          nextUpdate: '2026-12-02T12:19:02.000Z',
          entries: 1,
          publishedAt: '2026-12-02T10:49:02.864Z',
        },
        delta: {
          number: '2',
          thisUpdate: '2026-12-02T10:49:02.000Z',
          nextUpdate: '2026-12-02T11:04:02.000Z',
          entries: 1,
          publishedAt: '2026-12-02T10:49:02.853Z',
          baseNumber: '1',
        },
        revocations: {
          published: 1,
          p50Seconds: 2.035,
          p99Seconds: 2.035,
          maxSeconds: 2.035,
          pending: 0,
          oldestPendingSeconds: null,
        },
      },
    ],
  },
);
