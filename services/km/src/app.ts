import type { Device } from '@sm2ca/device';
import {
  AppError,
  CallerCertificates,
  createHttpServer,
  derResponse,
  ErrorBodySchema,
  type HttpServer,
  type ServiceContext,
} from '@sm2ca/platform';
import { caRequestBody, kmRespondBody, refusalHeaders } from './api-docs.ts';
import { KmLeader } from './km-leader.ts';
import { KmRequests } from './km-requests.ts';
import { kmMasterKeyLabel, requireFitMasterKey } from './master-key.ts';

/** A CARequest of MAX_ITEMS items is a few kilobytes; nothing bigger is read. */
const MAX_BODY_BYTES = 64 * 1024;
const contentType = 'application/octet-stream';

export interface KmAppOptions {
  /** Fill the key pool and expire escrows in the background (default); tests of other things turn it off. */
  background?: boolean;
  leaderRetryMs?: number;
}

/**
 * The key-management centre. It answers only the CA (key applications and revocations, under
 * the CA's 'ca-km' key) and the RA (recoveries, under the RA's key), each request verified
 * inside the device before anything else reads it. Bound to loopback by default.
 */
export async function buildKmApp(context: ServiceContext, options: KmAppOptions = {}): Promise<HttpServer> {
  const device = context.device as Device;
  const pool = context.db.pool;
  const { rows } = await pool.query(
    "SELECT id, key_label FROM issuers WHERE kind = 'km' ORDER BY created_at DESC LIMIT 1",
  );
  if (!rows[0] || !(await device.hasKey(kmMasterKeyLabel))) {
    throw new AppError(
      'KM_NOT_INITIALISED',
      'the KM certificate or master key does not exist yet; run `npx sm2ca init`',
      500,
    );
  }
  await requireFitMasterKey(pool, device, { name: 'km', role: 'km_service' });
  const km = {
    pool,
    device,
    masterKeyLabel: kmMasterKeyLabel,
    poolLowWater: context.config.km.poolLowWater,
    log: context.log,
  };
  const callers = new CallerCertificates(pool, device, {
    kinds: ['ca-km', 'ra'],
    codes: { expired: 'CALLER_UNKNOWN', invalid: 'SIGNATURE_INVALID', revoked: 'CALLER_REVOKED' },
    words: { caller: 'CA or RA', signed: 'request' },
  });
  await callers.load();
  const requests = new KmRequests({
    km,
    callers,
    signer: device.signer(rows[0].key_label),
    kmName: rows[0].id,
  });

  const app = await createHttpServer({
    service: 'km',
    readiness: pool,
    log: context.log,
    timeouts: context.config.http,
    title: 'SM2 CA — key-management centre (GM/T 0014, CA and RA only)',
    bodyLimit: MAX_BODY_BYTES,
  });
  // The signature covers the DER as sent: the body stays bytes.
  app.addContentTypeParser(contentType, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post(
    '/v1/gmt0014',
    {
      config: { access: 'public' },
      // The DER is read by the GM/T 0014 decoder; the schema is for the OpenAPI document only.
      validatorCompiler: () => () => true,
      schema: {
        description:
          'GM/T 0014 CA/RA → KM: a signed CARequest (applyKey, restoreKey, revokeKey) answered by a signed ' +
          'KMRespond. A refusal is a 4xx whose KMRespond holds one ErrorPkgRespond (errDesc begins with the ' +
          'code, also in the x-sm2ca-error-code header)',
        consumes: [contentType],
        body: caRequestBody,
        response: {
          200: { description: 'KMRespond DER', content: { [contentType]: { schema: kmRespondBody } } },
          '4xx': {
            description:
              'Refused: a KMRespond with one ErrorPkgRespond (application/octet-stream), or, for a request ' +
              'the KM never read (wrong content type, too large), the shared error body',
            headers: refusalHeaders,
            content: {
              [contentType]: derResponse(contentType, 'KMRespond DER').content[contentType],
              'application/json': { schema: ErrorBodySchema },
            },
          },
        },
      },
    },
    async (request, reply) => {
      // Whatever else reached here (no body, text) is no CARequest: refused as MALFORMED, in DER.
      const answer = await requests.answer(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
      if (answer.code) reply.header('x-sm2ca-error-code', answer.code);
      return reply.status(answer.status).type(contentType).send(Buffer.from(answer.der));
    },
  );

  if (options.background ?? true) {
    const leader = new KmLeader({
      km,
      url: context.db.url,
      config: context.config,
      log: context.log,
      ...(options.leaderRetryMs ? { leaderRetryMs: options.leaderRetryMs } : {}),
    });
    app.addHook('onClose', () => leader.stop());
    await leader.start();
  }
  return app;
}
