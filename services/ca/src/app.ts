import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Device } from '@sm2ca/device';
import {
  AppError,
  CallerCertificates,
  createHttpServer,
  type HttpServer,
  instructionSignature,
  instructionSignatureHeader,
  issuerUrls,
  KmClient,
  kmUrl,
  readInstruction,
  type ServiceContext,
  unsafeInputAt,
} from '@sm2ca/platform';
import type { FastifyRequest } from 'fastify';
import {
  BatchIssueInstructionBody,
  BatchIssueInstructionSchema,
  BatchIssueResultSchema,
  issueBatch,
} from './batch-issuance.ts';
import { CaActionInstructionSchema, executeCaAction } from './ca-action-instruction.ts';
import {
  CaActionInstructionBody,
  CaActionResultSchema,
  IssueInstructionBody,
  IssueResultSchema,
  ReleaseInstructionBody,
  ReleaseResultSchema,
  RevokeInstructionBody,
  RevokeResultSchema,
  SignatureHeaders,
} from './instruction-docs.ts';
import { issueCertificate } from './issuance.ts';
import { IssueInstructionSchema } from './issue-instruction.ts';
import { loadIssuers } from './issuers.ts';
import { issuingTemplates } from './issuing-templates.ts';
import { KmKeyRevocations } from './km-key-revocations.ts';
import { OcspSignerRenewal } from './ocsp-signer-renewal.ts';
import { ReleaseInstructionSchema, releaseCertificate } from './release.ts';
import { RevokeInstructionSchema, revokeCertificate } from './revocation.ts';

function validator<T extends TSchema>(schema: T) {
  const compiled = TypeCompiler.Compile(schema);
  return (body: unknown) => {
    // Only now, after the signature: the body stayed raw bytes until then. (Infinite numbers fail the schema.)
    const unsafe = unsafeInputAt(body);
    if (unsafe?.problem === 'nul') {
      throw new AppError(
        'INSTRUCTION_INVALID',
        `${unsafe.path || 'body'}: the NUL character is not accepted`,
        400,
      );
    }
    // Check first: walking the errors of a valid body cost several times the check itself.
    const first = compiled.Check(body) ? undefined : compiled.Errors(body).First();
    if (first) throw new AppError('INSTRUCTION_INVALID', `${first.path || 'body'}: ${first.message}`, 400);
    return body as import('@sinclair/typebox').Static<T>;
  };
}

/** The route schemas are for the OpenAPI document: nothing is read before its signature verifies. */
const documentedOnly = () => () => true;

export interface CaAppOptions {
  /** Renew OCSP signers in the background (default); tests of other things turn it off. */
  ocspSignerRenewal?: boolean;
  /** Send the KM the key revocations owed to it, in the background (default). */
  kmKeyRevocations?: boolean;
  /** Between lock attempts and reconnections of the background jobs' leader elections. */
  leaderRetryMs?: number;
  /** The first wait before a key revocation the KM did not take is sent again. */
  kmRetryMs?: number;
}

/**
 * The CA takes instructions only from the RA: every request body is verified
 * (inside the device) against the key of a current RA certificate before
 * anything else looks at it. There are no operator routes here. The KM, asked with the
 * CA's own 'ca-km' key, generates and escrows the keys of encryption certificates. In the
 * background, the leading replica keeps every CA supplied with a usable OCSP signer and
 * tells the KM of every escrowed key whose certificate was revoked.
 */
export async function buildCaApp(context: ServiceContext, options: CaAppOptions = {}): Promise<HttpServer> {
  const device = context.device as Device;
  const issuers = await loadIssuers(context.db.pool);
  const hasRa = [...issuers.values()].some((i) => i.kind === 'ra');
  const issuingCa = [...issuers.values()].reverse().find((i) => i.kind === 'subordinate');
  if (!hasRa || !issuingCa) {
    throw new AppError(
      'CA_NOT_INITIALISED',
      'the CA hierarchy does not exist yet; run `npx sm2ca init`',
      500,
    );
  }
  const km = new KmClient({
    url: kmUrl(context.config),
    caller: device.signer('ca-km'),
    pool: context.db.pool,
    verifier: device,
  });
  const checkIssue = validator(IssueInstructionSchema);
  const checkRevoke = validator(RevokeInstructionSchema);
  const checkRelease = validator(ReleaseInstructionSchema);
  const raCertificates = new CallerCertificates(context.db.pool, device, {
    kinds: ['ra'],
    codes: {
      expired: 'RA_CERTIFICATE_EXPIRED',
      invalid: 'RA_SIGNATURE_INVALID',
      revoked: 'RA_CERTIFICATE_REVOKED',
    },
    words: { caller: 'RA', signed: 'instruction' },
    auditRevoked: { actor: { name: 'ra', role: 'ra_instruction' }, action: 'instruction.refuse' },
  });
  await raCertificates.load();

  const app = await createHttpServer({
    service: 'ca',
    readiness: context.db.pool,
    log: context.log,
    timeouts: context.config.http,
    title: 'SM2 CA — signing service (RA instructions only)',
  });
  const issuance = {
    pool: context.db.pool,
    device,
    issuers,
    issuingCa,
    urls: issuerUrls(context.config, issuingCa.id, issuingCa.certificate.subject),
    config: context.config,
    km,
    allowHolderEncryptionKeys: context.config.ca.allowHolderEncryptionKeys,
    templates: issuingTemplates(context.db.pool),
    issued: app.metrics.counter({
      name: 'sm2ca_certificates_issued_total',
      help: 'Certificates signed and stored, by profile',
      labelNames: ['profile'],
    }),
  };
  const revoked = app.metrics.counter({
    name: 'sm2ca_certificates_revoked_total',
    help: 'Certificates revoked or suspended (reason certificateHold), by reason',
    labelNames: ['reason'],
  });
  // Signatures cover the exact bytes, so the body stays raw until it has been verified.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );

  const verified = async (request: FastifyRequest) => {
    if (!Buffer.isBuffer(request.body))
      throw new AppError('INSTRUCTION_MALFORMED', 'a JSON body is required', 400);
    const signature = instructionSignature(request.headers[instructionSignatureHeader]);
    await raCertificates.signerOf(request.body, signature);
    return readInstruction(request.body);
  };

  app.post(
    '/v1/instructions/issue',
    {
      config: { access: 'public' },
      validatorCompiler: documentedOnly,
      schema: {
        description: 'Issue a certificate (signed RA instruction)',
        headers: SignatureHeaders,
        body: IssueInstructionBody,
        response: { 200: IssueResultSchema },
      },
    },
    async (request) => issueCertificate(issuance, checkIssue(await verified(request))),
  );
  const checkBatch = validator(BatchIssueInstructionSchema);
  app.post(
    '/v1/instructions/issue-batch',
    {
      config: { access: 'public' },
      validatorCompiler: documentedOnly,
      schema: {
        description:
          'Issue a chunk of a batch (signed RA instruction, one signature for all its items); each item is an issue instruction without timestamp and operation, answered with its serial or its error',
        headers: SignatureHeaders,
        body: BatchIssueInstructionBody,
        response: { 200: BatchIssueResultSchema },
      },
    },
    async (request) => issueBatch(issuance, checkIssue, checkBatch(await verified(request))),
  );
  app.post(
    '/v1/instructions/revoke',
    {
      config: { access: 'public' },
      validatorCompiler: documentedOnly,
      schema: {
        description: 'Revoke or suspend a certificate (signed RA instruction)',
        headers: SignatureHeaders,
        body: RevokeInstructionBody,
        response: { 200: RevokeResultSchema },
      },
    },
    async (request) => revokeCertificate(context.db.pool, checkRevoke(await verified(request)), revoked),
  );
  const caActions = { pool: context.db.pool, device, config: context.config, log: context.log, issuers };
  const checkCaAction = validator(CaActionInstructionSchema);
  app.post(
    '/v1/instructions/ca-action',
    {
      config: { access: 'public' },
      validatorCompiler: documentedOnly,
      schema: {
        description:
          'Carry out a CA-level action approved under dual control (signed RA instruction); the CA reads the approvals from the database itself',
        headers: SignatureHeaders,
        body: CaActionInstructionBody,
        response: { 200: CaActionResultSchema },
      },
    },
    async (request) => executeCaAction(caActions, checkCaAction(await verified(request))),
  );
  app.post(
    '/v1/instructions/release',
    {
      config: { access: 'public' },
      validatorCompiler: documentedOnly,
      schema: {
        description: 'Release a suspended (certificateHold) certificate (signed RA instruction)',
        headers: SignatureHeaders,
        body: ReleaseInstructionBody,
        response: { 200: ReleaseResultSchema },
      },
    },
    async (request) => releaseCertificate(context.db.pool, checkRelease(await verified(request))),
  );
  if (options.ocspSignerRenewal ?? true) {
    const renewal = new OcspSignerRenewal({
      pool: context.db.pool,
      url: context.db.url,
      device,
      config: context.config,
      log: context.log,
      ...(options.leaderRetryMs ? { leaderRetryMs: options.leaderRetryMs } : {}),
    });
    app.addHook('onClose', () => renewal.stop());
    await renewal.start();
  }
  if (options.kmKeyRevocations ?? true) {
    const revocations = new KmKeyRevocations({
      pool: context.db.pool,
      url: context.db.url,
      km,
      log: context.log,
      ...(options.leaderRetryMs ? { leaderRetryMs: options.leaderRetryMs } : {}),
      ...(options.kmRetryMs ? { firstRetryMs: options.kmRetryMs } : {}),
    });
    app.addHook('onClose', () => revocations.stop());
    await revocations.start();
  }
  return app;
}
