import { Type } from '@sinclair/typebox';
import { sm3 } from '@sm2ca/gm';
import { AppError, derResponse, type HttpServer, notModifiedResponse } from '@sm2ca/platform';
import { fileParams } from './api-docs.ts';
import type { CaIssuer, CaIssuerDirectory } from './ca-issuers.ts';
import type { ArchivedCrl, CrlArchiveReader } from './crl-archive.ts';
import type { CrlKind } from './crl-schedule.ts';
import { crlCacheHeaders, etagOf, matchesIfNoneMatch } from './http-caching.ts';

export interface CrlRouteDeps {
  issuers: CaIssuerDirectory;
  archive: CrlArchiveReader;
}

const NumberedParams = Type.Object({
  issuerId: Type.String({ maxLength: 64, examples: ['sub'] }),
  file: Type.String({ maxLength: 200, examples: ['2.crl'] }),
});
const DELTA_SUFFIX = '-delta';
const CA_CERTIFICATE_MAX_AGE_SECONDS = 86_400;

function crlNotFound(message: string): AppError {
  return new AppError('CRL_NOT_FOUND', message, 404);
}

/**
 * The URLs issuerUrls() writes into every certificate (cRLDistributionPoints, freshestCRL,
 * caIssuers), plus every archived CRL by number. Any replica answers from the archive.
 */
export function registerCrlRoutes(app: HttpServer, deps: CrlRouteDeps): void {
  const issuer = async (id: string): Promise<CaIssuer> => {
    const found = await deps.issuers.get(id);
    if (!found) throw new AppError('ISSUER_UNKNOWN', `no CA issuer "${id}"`, 404);
    return found;
  };

  /** `<id>.crl` or `<id>-delta.crl`; an issuer whose own id ends in "-delta" keeps its full CRL. */
  const resolve = async (file: string): Promise<{ issuer: CaIssuer; kind: CrlKind }> => {
    if (!file.endsWith('.crl'))
      throw crlNotFound(`${file} is not a CRL name (<issuer>.crl, <issuer>-delta.crl)`);
    const name = file.slice(0, -'.crl'.length);
    if (name.endsWith(DELTA_SUFFIX) && !(await deps.issuers.get(name))) {
      return { issuer: await issuer(name.slice(0, -DELTA_SUFFIX.length)), kind: 'delta' };
    }
    return { issuer: await issuer(name), kind: 'full' };
  };

  const der = async (crl: ArchivedCrl, archived: boolean): Promise<Buffer> => {
    const found = await (archived ? deps.archive.archivedDer(crl) : deps.archive.der(crl));
    if (!found) throw crlNotFound(`CRL ${crl.number} of ${crl.issuerId} is not in the archive`);
    return found;
  };

  app.get(
    '/crl/:file',
    {
      config: { access: 'public' },
      schema: {
        description: 'The current full (<issuer>.crl) or delta (<issuer>-delta.crl) CRL, DER',
        params: fileParams('sub.crl'),
        response: { 200: derResponse('application/pkix-crl', 'the CRL'), 304: notModifiedResponse },
      },
    },
    async (request, reply) => {
      const { issuer: found, kind } = await resolve(request.params.file);
      const crl = await deps.archive.current(found.id, kind);
      if (!crl) throw crlNotFound(`no ${kind} CRL of ${found.id} has been published yet`);
      const headers = crlCacheHeaders(crl, { archived: false });
      reply.headers(headers);
      if (matchesIfNoneMatch(request.headers['if-none-match'], headers.etag)) return reply.code(304).send();
      return reply.type('application/pkix-crl').send(await der(crl, false));
    },
  );

  app.get(
    '/crl/:issuerId/:file',
    {
      config: { access: 'public' },
      schema: {
        description: 'Any archived CRL of an issuer by its cRLNumber (<number>.crl), DER',
        params: NumberedParams,
        response: { 200: derResponse('application/pkix-crl', 'the CRL'), 304: notModifiedResponse },
      },
    },
    async (request, reply) => {
      const found = await issuer(request.params.issuerId);
      const match = /^([0-9]{1,18})\.crl$/.exec(request.params.file);
      const crl = match ? await deps.archive.byNumber(found.id, BigInt(match[1]!)) : undefined;
      if (!crl) throw crlNotFound(`${found.id} has no CRL ${request.params.file}`);
      const headers = crlCacheHeaders(crl, { archived: true });
      reply.headers(headers);
      if (matchesIfNoneMatch(request.headers['if-none-match'], headers.etag)) return reply.code(304).send();
      return reply.type('application/pkix-crl').send(await der(crl, true));
    },
  );

  app.get(
    '/ca/:file',
    {
      config: { access: 'public' },
      schema: {
        description: "A CA issuer's certificate (<issuer>.cer), DER",
        params: fileParams('sub.cer'),
        response: { 200: derResponse('application/pkix-cert', 'the certificate'), 304: notModifiedResponse },
      },
    },
    async (request, reply) => {
      const { file } = request.params;
      if (!file.endsWith('.cer')) throw new AppError('ISSUER_UNKNOWN', `${file} is not <issuer>.cer`, 404);
      const found = await issuer(file.slice(0, -'.cer'.length));
      const etag = etagOf(sm3(found.certificate));
      reply.headers({ etag, 'cache-control': `public, max-age=${CA_CERTIFICATE_MAX_AGE_SECONDS}` });
      if (matchesIfNoneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type('application/pkix-cert').send(found.certificate);
    },
  );
}
