import { type Static, Type } from '@sinclair/typebox';
import {
  decodeExtendedKeyUsage,
  decodeKeyUsage,
  findExtension,
  nameToString,
  OIDS,
  parseCertificate,
} from '@sm2ca/pki';
import { AppError, allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { certificateExample } from './api-examples.ts';
import { CertificateView, certificateSelect, toCertificateView } from './certificate-view.ts';
import { auditHolderRead } from './holder-read-audit.ts';
import { literals, Nullable, Time } from './ra-context.ts';

const oidNames = new Map<string, string>(Object.entries(OIDS).map(([name, oid]) => [oid, name]));

const CertificateDetail = Type.Object({
  certificate: CertificateView,
  template: Nullable(
    Type.String({
      description:
        'the certificate template it was issued under (a dual encryption certificate: its own); null: not from an RA application',
    }),
  ),
  templateVersion: Nullable(Type.Integer({ description: 'the version of that template' })),
  der: Type.String({ description: 'the certificate as issued, DER, base64' }),
  decoded: Type.Object({
    version: Type.Integer(),
    serial: Type.String(),
    subject: Type.String(),
    issuer: Type.String(),
    notBefore: Time,
    notAfter: Time,
    signatureAlgorithm: Type.String(),
    keyUsage: Type.Array(Type.String()),
    extendedKeyUsage: Type.Array(Type.String()),
    extensions: Type.Array(
      Type.Object({ oid: Type.String(), name: Nullable(Type.String()), critical: Type.Boolean() }),
    ),
  }),
  crl: Type.Object(
    {
      latest: Nullable(
        Type.Object(
          { number: Type.String(), kind: literals(['full', 'delta']), thisUpdate: Time, nextUpdate: Time },
          { description: "the issuer's newest CRL, full or delta" },
        ),
      ),
      listedSince: Nullable(
        Type.String({
          description: 'number of the first CRL that lists the certificate in its current state',
        }),
      ),
    },
    { description: 'what the CRL service has published about this certificate' },
  ),
});
type CertificateDetail = Static<typeof CertificateDetail>;

const name = (oid: string) => oidNames.get(oid) ?? null;

function decode(der: Uint8Array): CertificateDetail['decoded'] {
  const parsed = parseCertificate(der);
  const keyUsage = findExtension(parsed, OIDS.keyUsage);
  const extendedKeyUsage = findExtension(parsed, OIDS.extendedKeyUsage);
  return {
    version: parsed.version,
    serial: parsed.serialHex,
    subject: nameToString(parsed.subject),
    issuer: nameToString(parsed.issuer),
    notBefore: parsed.notBefore.toISOString(),
    notAfter: parsed.notAfter.toISOString(),
    signatureAlgorithm: name(parsed.signatureAlgorithm.oid) ?? parsed.signatureAlgorithm.oid,
    keyUsage: keyUsage ? [...decodeKeyUsage(keyUsage.value)] : [],
    extendedKeyUsage: extendedKeyUsage
      ? decodeExtendedKeyUsage(extendedKeyUsage.value).map((oid) => name(oid) ?? oid)
      : [],
    extensions: parsed.extensions.map((ext) => ({
      oid: ext.oid,
      name: name(ext.oid),
      critical: ext.critical,
    })),
  };
}

/**
 * One certificate as the console's detail page shows it: the RA's record, the certificate as
 * issued and decoded here (so the browser carries no X.509 decoder), and what the CRL service
 * has published for it. The status is the one OCSP answers from the same row.
 */
export function registerCertificateDetailRoute(app: HttpServer, ctx: { pool: Pool }): void {
  app.get(
    '/v1/certificates/:issuerId/:serial/detail',
    {
      config: { access: allowedTo('certificate.read') },
      schema: {
        tags: ['certificates'],
        summary: 'A certificate with its DER, its decoded fields, and its state on the CRLs',
        params: Type.Object({
          issuerId: Type.String({ minLength: 1 }),
          serial: Type.String({ pattern: '^[0-9A-Fa-f:]{1,64}$' }),
        }),
        response: {
          200: withExample(CertificateDetail, {
            certificate: certificateExample,
            template: 'person-sign',
            templateVersion: 1,
            der: 'MIIB…',
            decoded: {
              version: 3,
              serial: certificateExample.serial,
              subject: certificateExample.subject,
              issuer: 'C=CN, O=示例 CA, CN=示例 SM2 子 CA',
              notBefore: certificateExample.notBefore,
              notAfter: certificateExample.notAfter,
              signatureAlgorithm: 'sm2WithSm3',
              keyUsage: ['digitalSignature', 'nonRepudiation'],
              extendedKeyUsage: [],
              extensions: [{ oid: OIDS.keyUsage, name: 'keyUsage', critical: true }],
            },
            crl: {
              latest: {
                number: '7',
                kind: 'delta',
                thisUpdate: '2026-12-02T10:50:00.000Z',
                nextUpdate: '2026-12-03T10:50:00.000Z',
              },
              listedSince: '7',
            },
          }),
        },
      },
    },
    async (request) => {
      const { issuerId } = request.params;
      const serial = request.params.serial.replaceAll(':', '').toLowerCase();
      const { rows } = await ctx.pool.query(
        `SELECT q.*,
                CASE WHEN a.encryption_serial = q.serial THEN a.encryption_template ELSE a.template END
                  AS issued_template,
                CASE WHEN a.encryption_serial = q.serial THEN a.encryption_template_version ELSE a.template_version END
                  AS issued_template_version,
                (SELECT r.first_crl_number FROM crl_revocations r
                  WHERE r.issuer_id = q.issuer_id AND r.serial = q.serial AND r.status = q.status
                    AND r.cleared_crl_number IS NULL
                  ORDER BY r.first_crl_number DESC LIMIT 1) AS listed_since
           FROM (${certificateSelect} AND c.issuer_id = $1 AND c.serial = $2) q
           LEFT JOIN applications a ON a.id = q.application_id`,
        [issuerId, serial],
      );
      const row = rows[0];
      if (!row)
        throw new AppError('CERTIFICATE_NOT_FOUND', `issuer ${issuerId} has no certificate ${serial}`, 404);
      const latest = (
        await ctx.pool.query(
          `SELECT crl_number, kind, this_update, next_update FROM crls
            WHERE issuer_id = $1 ORDER BY crl_number DESC LIMIT 1`,
          [issuerId],
        )
      ).rows[0];
      const certificate = toCertificateView(row);
      await auditHolderRead(ctx.pool, request, [certificate], (view) => `${view.issuerId}/${view.serial}`);
      return {
        certificate,
        template: row.issued_template ?? null,
        templateVersion: row.issued_template_version ?? null,
        der: Buffer.from(row.der).toString('base64'),
        decoded: decode(new Uint8Array(row.der)),
        crl: {
          latest: latest
            ? {
                number: String(latest.crl_number),
                kind: latest.kind,
                thisUpdate: latest.this_update.toISOString(),
                nextUpdate: latest.next_update.toISOString(),
              }
            : null,
          listedSince: row.listed_since == null ? null : String(row.listed_since),
        },
      };
    },
  );
}
