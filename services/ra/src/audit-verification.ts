import { Type } from '@sinclair/typebox';
import {
  AppError,
  allowedTo,
  type HttpServer,
  recordAudit,
  verifyAuditDatabase,
  withExample,
} from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import { actorOf } from './ra-context.ts';

const Problem = Type.Object({
  seq: Type.Optional(Type.Integer()),
  auditId: Type.Optional(Type.String()),
  message: Type.String(),
});

const Verification = Type.Object({
  intact: Type.Boolean({ description: 'no problem in the chain and no record inserted behind its head' }),
  records: Type.Integer(),
  firstSeq: Type.Union([Type.Integer(), Type.Null()]),
  lastSeq: Type.Integer(),
  head: Type.String({ description: 'the SM3 hash at lastSeq' }),
  checkpointsVerified: Type.Integer({
    description: 'signed checkpoints whose signature verified and whose head the chain matches',
  }),
  problems: Type.Array(Problem, { description: 'in chain order: the first is the first broken record' }),
  strays: Type.Array(Problem, { description: 'records outside the chain that sort before its head' }),
  pending: Type.Integer({ description: 'records not sealed into the chain yet' }),
});

/**
 * `sm2ca audit verify` for the auditor in the console: the whole chain from the database against
 * the signed checkpoints. It reads every record, so one runs at a time in this process.
 */
export function registerAuditVerificationRoute(app: HttpServer, ctx: { pool: Pool; home: string }): void {
  let running = false;
  app.get(
    '/v1/audit/verification',
    {
      config: { access: allowedTo('audit.verify') },
      schema: {
        tags: ['audit'],
        summary:
          'Recompute the whole SM3 chain and check the signed checkpoints, as `sm2ca audit verify` does; 409 AUDIT_VERIFY_RUNNING while another runs',
        response: {
          200: withExample(Verification, {
            intact: true,
            records: 1180,
            firstSeq: 1,
            lastSeq: 1180,
            head: 'ab…',
            checkpointsVerified: 12,
            problems: [],
            strays: [],
            pending: 3,
          }),
        },
      },
    },
    async (request) => {
      if (running) {
        throw new AppError(
          'AUDIT_VERIFY_RUNNING',
          'a verification of the audit chain is running; try again when it ends',
          409,
        );
      }
      running = true;
      try {
        const { report, strays, pending } = await verifyAuditDatabase(ctx.pool, { home: ctx.home });
        const result = {
          intact: report.problems.length === 0 && strays.length === 0,
          records: report.records,
          firstSeq: report.firstSeq ?? null,
          lastSeq: report.lastSeq,
          head: report.head,
          checkpointsVerified: report.checkpointsVerified,
          problems: report.problems,
          strays,
          pending,
        };
        await withTransaction(ctx.pool, (client) =>
          recordAudit(client, actorOf(request), {
            action: 'audit.verify',
            subjectType: 'audit_log',
            subjectId: `1/${report.lastSeq}`,
            after: {
              intact: result.intact,
              records: result.records,
              head: result.head,
              problems: report.problems.length + strays.length,
            },
          }),
        );
        return result;
      } finally {
        running = false;
      }
    },
  );
}
