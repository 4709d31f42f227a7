import { sm3, toHex } from '@sm2ca/gm';
import {
  DN_ATTRIBUTE_OIDS,
  type DnAttributeType,
  decodeName,
  issueCertificate,
  nameToString,
  parseCertificate,
} from '@sm2ca/pki';
import { AppError, type CaActionParametersOf, issuerUrls, recordAudit } from '@sm2ca/platform';
import { member, type PerformContext, type Performed } from './ca-action-context.ts';
import { publishStatus } from './certificate-events.ts';
import { type Issuer, loadIssuers, requireUsableIssuer, storedSerial } from './issuers.ts';

/** The one way a CA key signs anything but a certificate or CRL of its own flows: bytes the approvers saw. */
export async function signWithCaKey(
  ctx: PerformContext,
  p: CaActionParametersOf<'sign_with_ca_key'>,
): Promise<Performed> {
  const issuers = await loadIssuers(ctx.client);
  member(issuers, p.issuer, ['root', 'subordinate']);
  await requireUsableIssuer(ctx.client, issuers, p.issuer);
  const issuer = issuers.get(p.issuer) as Issuer;
  const data = Buffer.from(p.data, 'base64');
  const signature = await ctx.device.sign(issuer.keyLabel, data);
  const result = {
    issuer: issuer.id,
    purpose: p.purpose,
    sm3: toHex(sm3(data)),
    signature: Buffer.from(signature).toString('base64'),
  };
  await recordAudit(ctx.client, ctx.actor, {
    action: 'ca_key.sign',
    subjectType: 'issuer',
    subjectId: issuer.id,
    after: result,
  });
  return { result, signersChanged: false };
}

/**
 * A certificate for another CA's key and name, signed by the root under the sub-ca profile (so the
 * other CA issues end entities only), recorded like every certificate so OCSP and CRLs cover it.
 */
export async function crossCertify(
  ctx: PerformContext,
  p: CaActionParametersOf<'cross_certify'>,
): Promise<Performed> {
  const issuers = await loadIssuers(ctx.client);
  const issuer = member(issuers, p.issuer, ['root']);
  await requireUsableIssuer(ctx.client, issuers, p.issuer);
  const other = parseCertificate(Buffer.from(p.certificate, 'base64'));
  if (nameToString(other.subject) !== p.subject) {
    throw new AppError(
      'CA_ACTION_DIGEST_MISMATCH',
      "the subject shown to the approvers is not the certificate's",
      409,
    );
  }
  const subject = decodeName(other.subject).map(({ type, value }) => {
    if (!(type in DN_ATTRIBUTE_OIDS)) {
      throw new AppError(
        'CROSS_CERTIFICATE_SUBJECT',
        `the other CA's subject has an attribute ${type} we cannot issue`,
        422,
      );
    }
    return { type: type as DnAttributeType, value };
  });
  const notBefore = new Date();
  const notAfter = new Date(
    Math.min(
      notBefore.getTime() + p.days * 86_400_000,
      other.notAfter.getTime(),
      issuer.certificate.notAfter.getTime(),
    ),
  );
  const urls = issuerUrls(ctx.config, issuer.id);
  const der = await issueCertificate(
    {
      profile: 'sub-ca',
      subject,
      publicKey: other.spki,
      issuer: issuer.certificate,
      notBefore,
      notAfter,
      crlDistributionPoints: [urls.crl],
      ocspUrls: [urls.ocsp],
      caIssuersUrls: [urls.caCertificate],
    },
    ctx.device.signer(issuer.keyLabel),
    { verifier: ctx.device },
  );
  const certificate = parseCertificate(der);
  const serial = storedSerial(certificate);
  await ctx.client.query(
    `INSERT INTO certificates (issuer_id, serial, status, profile, subject, tbs, der, not_before, not_after, request_id, issued_at)
     VALUES ($1, $2, 'good', 'sub-ca', $3, $4, $5, $6, $7, $8, now())`,
    [
      issuer.id,
      serial,
      p.subject,
      certificate.tbs,
      der,
      certificate.notBefore,
      certificate.notAfter,
      `ca-action:${ctx.actionId}`,
    ],
  );
  await publishStatus(ctx.client, { issuerId: issuer.id, serial, status: 'good' });
  await recordAudit(ctx.client, ctx.actor, {
    action: 'certificate.cross_certify',
    subjectType: 'certificate',
    subjectId: `${issuer.id}/${serial}`,
    after: { subject: p.subject, notAfter: certificate.notAfter.toISOString() },
  });
  return {
    result: {
      issuer: issuer.id,
      serial,
      subject: p.subject,
      certificate: Buffer.from(der).toString('base64'),
    },
    signersChanged: false,
  };
}
