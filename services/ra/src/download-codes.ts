import { randomInt, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import {
  type Actor,
  AppError,
  credentialDigest,
  type HttpServer,
  recordAudit,
  withExample,
} from '@sm2ca/platform';
import { type PoolClient, withTransaction } from '@sm2ca/store';
import { derDownloadExample, downloadExample, pemDownloadExample } from './api-examples.ts';
import {
  csrResponseOf,
  csrResponseType,
  type Delivered,
  DerDownload,
  type DownloadFormat,
  derDownloadOf,
  downloadFormats,
  pemChainOf,
} from './holder-delivery.ts';
import { literals, type RaContext } from './ra-context.ts';

/** After this many wrong codes the reference is locked; the certificate maker hands out a new code. */
export const maxFailedAttempts = 5;

// No I, O, 0 or 1: the holder types the code from paper or a text message.
const codeAlphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const codeLength = 16;

export const DownloadCode = Type.Object({
  reference: Type.String({ description: '12-digit reference number' }),
  code: Type.String({ description: 'authorisation code, shown once; dashes and case do not matter' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
export interface DownloadCode {
  reference: string;
  code: string;
  expiresAt: string;
}

export function canonicalCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}

function newCode(): string {
  const chars = Array.from({ length: codeLength }, () => codeAlphabet[randomInt(codeAlphabet.length)]);
  return chars.join('').replace(/(.{4})(?=.)/g, '$1-');
}

/**
 * A fresh reference + authorisation code and the digest to store. Only the
 * code's SM3 digest is stored: with 80 random bits and the lockout, the digest
 * alone is useless to a reader of the table.
 */
export function newDownloadCode(days: number): DownloadCode & { digest: Buffer } {
  const code = newCode();
  return {
    reference: String(randomInt(1e11, 1e12)),
    code,
    digest: credentialDigest(canonicalCode(code)),
    expiresAt: new Date(Date.now() + days * 24 * 3600 * 1000).toISOString(),
  };
}

/** A fresh download code for an issued application, inside the caller's transaction. */
export async function createDownloadCode(
  client: PoolClient,
  actor: Actor,
  applicationId: string,
  days: number,
): Promise<DownloadCode> {
  for (;;) {
    const { digest, ...download } = newDownloadCode(days);
    const inserted = await client.query(
      `INSERT INTO download_codes (reference, application_id, code_digest, expires_at)
       VALUES ($1, $2, $3, $4) ON CONFLICT (reference) DO NOTHING`,
      [download.reference, applicationId, digest, download.expiresAt],
    );
    if (inserted.rowCount === 0) continue;
    await recordAudit(client, actor, {
      action: 'download_code.create',
      subjectType: 'application',
      subjectId: applicationId,
      after: { reference: download.reference, expiresAt: download.expiresAt },
    });
    return download;
  }
}

const DownloadBody = Type.Object(
  {
    reference: Type.String({ pattern: '^[0-9]{12}$' }),
    code: Type.String({ minLength: 1, maxLength: 64 }),
    format: literals(downloadFormats, {
      description:
        'pem: the certificate then the chain as one PEM text (single applications only); der: JSON with base64 DER ' +
        'fields, for a dual application also the encryption certificate, the enveloped key and the CSRResponse; ' +
        `csr-response: the GM/T 0092 CSRResponse DER that GM client tools import (${csrResponseType})`,
    }),
  },
  { additionalProperties: false },
);

type Outcome = { ok: Delivered } | { refused: AppError };

/** What a code is compared with when the reference is unknown: the same work as for a known one. */
export const unknownReferenceDigest = credentialDigest('no such reference');

/** The certificate chain from the issuing CA up to the root, as the CA recorded it. */
async function chainOf(client: PoolClient, issuerId: string): Promise<Buffer[]> {
  const { rows } = await client.query(
    `WITH RECURSIVE up AS (
       SELECT id, parent_id, certificate, 0 AS depth FROM issuers WHERE id = $1
       UNION ALL
       SELECT i.id, i.parent_id, i.certificate, up.depth + 1 FROM issuers i JOIN up ON i.id = up.parent_id
         WHERE up.depth < 8
     ) SELECT certificate FROM up ORDER BY depth`,
    [issuerId],
  );
  return rows.map((r) => r.certificate as Buffer);
}

/** The certificates of an issued application by serial: its signature certificate and any encryption twin. */
async function certificatesOf(
  client: PoolClient,
  issuerId: string,
  serials: string[],
): Promise<Map<string, Buffer>> {
  const { rows } = await client.query(
    'SELECT serial, der FROM certificates WHERE issuer_id = $1 AND serial = ANY($2) AND der IS NOT NULL',
    [issuerId, serials],
  );
  return new Map(rows.map((r) => [r.serial as string, r.der as Buffer]));
}

/** A download code with the certificate columns of its application. */
interface ReferenceRow {
  application_id: string;
  expires_at: Date;
  used_at: Date | null;
  issuer_id: string;
  serial: string;
  dual: boolean;
  /** These two only for a dual application, where the CHECK applications_dual_issued makes them present. */
  encryption_serial: string;
  enveloped_key: Buffer;
  holder_key: string;
}

/**
 * The download code row of `reference` with its application's certificate columns, once `code`
 * matches it; locked for the caller's transaction. A wrong code counts towards the lockout and
 * is audited; the caller commits that count before it reports the refusal.
 */
export async function checkReference(
  client: PoolClient,
  reference: string,
  code: string,
): Promise<{ row: ReferenceRow } | { refused: AppError }> {
  const holder: Actor = { name: `holder:${reference}`, role: 'holder' };
  const { rows } = await client.query(
    `SELECT d.*, a.issuer_id, a.serial, a.dual, a.encryption_serial, a.enveloped_key, a.holder_key
       FROM download_codes d JOIN applications a ON a.id = d.application_id
      WHERE d.reference = $1 FOR UPDATE OF d`,
    [reference],
  );
  const row = rows[0];
  // An unknown reference, a wrong code and a locked reference answer alike (same code, body and
  // statements run), so nobody learns from the answer which references exist or how many tries
  // are left. Only the holder, who has the right code, is told their reference is locked.
  const invalid = new AppError(
    'DOWNLOAD_CODE_INVALID',
    'the reference number or authorisation code is wrong, or too many wrong codes locked it',
    403,
  );
  const given = credentialDigest(canonicalCode(code));
  const right = timingSafeEqual(given, row?.code_digest ?? unknownReferenceDigest);
  const locked = row ? row.failed_attempts >= maxFailedAttempts : false;
  if (!row || !right) {
    const failed = row ? Math.min(row.failed_attempts + 1, maxFailedAttempts) : null;
    await client.query('UPDATE download_codes SET failed_attempts = $2 WHERE reference = $1', [
      reference,
      failed ?? 0,
    ]);
    await recordAudit(client, holder, {
      action: 'download_code.fail',
      subjectType: 'download_code',
      subjectId: reference,
      before: { failedAttempts: row ? row.failed_attempts : null },
      after: { failedAttempts: failed },
    });
    return { refused: invalid };
  }
  if (locked) {
    return {
      refused: new AppError(
        'DOWNLOAD_CODE_LOCKED',
        'too many wrong codes for this reference; ask the certificate maker for a new code',
        403,
      ),
    };
  }
  return { row };
}

async function redeem(
  client: PoolClient,
  reference: string,
  code: string,
  format: DownloadFormat,
): Promise<Outcome> {
  const holder: Actor = { name: `holder:${reference}`, role: 'holder' };
  const checked = await checkReference(client, reference, code);
  if ('refused' in checked) return checked;
  const { row } = checked;
  if (row.used_at) {
    return { refused: new AppError('DOWNLOAD_CODE_USED', 'this code was used already', 410) };
  }
  if (row.expires_at.getTime() <= Date.now()) {
    return {
      refused: new AppError(
        'DOWNLOAD_CODE_EXPIRED',
        'this code has expired; ask the certificate maker for a new one',
        410,
      ),
    };
  }
  // Told before the code is spent, so the holder asks again in a format that carries everything.
  if (row.dual && format === 'pem') {
    return {
      refused: new AppError(
        'DOWNLOAD_FORMAT_UNSUITED',
        'this application holds an encryption certificate and its enveloped key, which a PEM certificate chain cannot carry; ask for format der or csr-response',
        422,
        { formats: ['der', 'csr-response'] },
      ),
    };
  }
  const serials = row.dual ? [row.serial, row.encryption_serial] : [row.serial];
  const certificates = await certificatesOf(client, row.issuer_id, serials);
  if (certificates.size < serials.length) {
    throw new AppError('CERTIFICATE_NOT_AVAILABLE', 'the CA has not recorded this certificate', 409);
  }
  await client.query('UPDATE download_codes SET used_at = now() WHERE reference = $1', [reference]);
  await recordAudit(client, holder, {
    action: 'download_code.use',
    subjectType: 'download_code',
    subjectId: reference,
    after: {
      applicationId: String(row.application_id),
      issuerId: row.issuer_id,
      serial: row.serial,
      ...(row.dual ? { encryptionSerial: row.encryption_serial } : {}),
      format,
    },
  });
  return {
    ok: {
      issuerId: row.issuer_id,
      serial: row.serial,
      certificate: certificates.get(row.serial)!,
      chain: await chainOf(client, row.issuer_id),
      ...(row.dual
        ? {
            encryption: {
              serial: row.encryption_serial,
              certificate: certificates.get(row.encryption_serial)!,
              envelopedKey: row.enveloped_key,
            },
          }
        : {}),
    },
  };
}

export function registerDownloadRoutes(app: HttpServer, ctx: RaContext): void {
  app.post(
    '/v1/download',
    {
      config: { access: 'public' },
      schema: {
        tags: ['holders'],
        summary:
          'A holder downloads their certificate (a dual application: both certificates and the enveloped encryption key) once with the reference number and authorisation code',
        body: withExample(DownloadBody, downloadExample),
        response: {
          200: {
            description: `pem: application/pem-certificate-chain text; der: JSON; csr-response: ${csrResponseType}`,
            content: {
              'application/json': { schema: withExample(DerDownload, derDownloadExample) },
              'application/pem-certificate-chain': { schema: withExample(Type.String(), pemDownloadExample) },
              [csrResponseType]: { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { reference, code, format } = request.body;
      // A refusal that counted a failed attempt must commit that count before it is reported.
      const outcome = await withTransaction(ctx.pool, (client) => redeem(client, reference, code, format));
      if ('refused' in outcome) throw outcome.refused;
      const { ok } = outcome;
      if (format === 'pem') return reply.type('application/pem-certificate-chain').send(pemChainOf(ok));
      if (format === 'csr-response') {
        return reply
          .type(csrResponseType)
          .header('content-disposition', `attachment; filename="${reference}.csr-response.der"`)
          .send(Buffer.from(csrResponseOf(ok)));
      }
      return reply.type('application/json').send(derDownloadOf(ok));
    },
  );
}
