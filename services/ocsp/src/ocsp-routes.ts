import type { ParsedOcspRequest } from '@sm2ca/pki';
import type { Counter } from '@sm2ca/platform';
import { derResponse, type HttpServer, notModifiedResponse } from '@sm2ca/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestBody, requestPathParams } from './api-docs.ts';
import { cacheableHeaders, etagMatches, uncacheableHeaders } from './http-caching.ts';
import { type Answer, malformedRequest, type OcspAnswers } from './ocsp-answers.ts';
import { MAX_REQUEST_BYTES, RequestMemo } from './request-memo.ts';

const answerResponse = derResponse(
  'application/ocsp-response',
  'the OCSP response; errors too, as OCSP statuses',
);

/** OCSPResponse status and where the bytes came from: the pre-signing leader, signed on a miss, or live. */
function answerLabels(answer: Answer): { status: string; source: string } {
  if (answer.kind === 'cacheable') {
    return { status: 'successful', source: answer.response.stored ? 'presigned' : 'on_demand' };
  }
  return { status: answer.status, source: answer.status === 'successful' ? 'live' : 'none' };
}

type Sent = Counter<'status' | 'source'>;

function send(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: Answer,
  cacheable: boolean,
  sent: Sent,
): void {
  sent.inc(answerLabels(answer));
  if (answer.kind === 'fresh') {
    reply.headers(uncacheableHeaders).send(answer.der);
    return;
  }
  const { response } = answer;
  if (!cacheable) {
    reply.headers(uncacheableHeaders).send(response.der);
    return;
  }
  const headers = cacheableHeaders(response, Date.now());
  if (etagMatches(request.headers['if-none-match'], response.etag)) {
    reply.code(304).headers(headers).removeHeader('content-type').send();
    return;
  }
  reply.headers(headers).send(response.der);
}

/** Answers synchronously when memory has the answer: no promise on the hot path. */
function respond(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: Answer | Promise<Answer>,
  cacheable: boolean,
  sent: Sent,
): Promise<void> | undefined {
  if (answer instanceof Promise) return answer.then((a) => send(request, reply, a, cacheable, sent));
  send(request, reply, answer, cacheable, sent);
  return undefined;
}

/**
 * POST `path` with a DER body and GET `path/{url-encoded base64}` (RFC 6960 A.1, RFC 5019 5).
 * OCSP errors travel inside a 200 response as OCSPResponse statuses, as clients expect.
 */
export function registerOcspRoutes(app: HttpServer, path: string, answers: OcspAnswers): void {
  const memo = new RequestMemo();
  const sent: Sent = app.metrics.counter({
    name: 'sm2ca_ocsp_responses_total',
    help: 'OCSP responses sent, by OCSPResponse status and source (presigned, on_demand, live, none)',
    labelNames: ['status', 'source'],
  });
  const parse = (parser: () => ParsedOcspRequest): ParsedOcspRequest | undefined => {
    try {
      return parser();
    } catch {
      return undefined;
    }
  };

  app.addContentTypeParser(
    'application/ocsp-request',
    { parseAs: 'buffer', bodyLimit: MAX_REQUEST_BYTES },
    (_request, body, done) => done(null, body),
  );

  app.post(
    path || '/',
    {
      config: { access: 'public' },
      // The body is read by the DER parser below; the schema is for the OpenAPI document only.
      validatorCompiler: () => () => true,
      schema: {
        description: 'OCSP request (application/ocsp-request, DER); answers application/ocsp-response',
        consumes: ['application/ocsp-request'],
        body: requestBody,
        response: { 200: answerResponse },
      },
    },
    (request, reply) => {
      const body = request.body;
      const parsed = Buffer.isBuffer(body) ? parse(() => memo.parseBody(body)) : undefined;
      // A POST answer is never cacheable (RFC 5019 5): caches key on URLs, not bodies.
      return respond(
        request,
        reply,
        parsed ? answers.answer(parsed, request.ip) : malformedRequest,
        false,
        sent,
      );
    },
  );

  const prefixLength = path.length + 1;
  app.get(
    `${path}/*`,
    {
      config: { access: 'public' },
      schema: {
        description: 'OCSP request as URL-encoded base64 of the DER in the path (RFC 6960 A.1)',
        params: requestPathParams,
        response: { 200: answerResponse, 304: notModifiedResponse },
      },
    },
    (request, reply) => {
      // The raw URL: base64 holds '/' and '+', which routers and decoders would otherwise rewrite.
      const url = request.raw.url ?? '';
      const query = url.indexOf('?', prefixLength);
      const text = url.slice(prefixLength, query < 0 ? undefined : query);
      const parsed = parse(() => memo.parsePath(text));
      return respond(
        request,
        reply,
        parsed ? answers.answer(parsed, request.ip) : malformedRequest,
        true,
        sent,
      );
    },
  );
}
