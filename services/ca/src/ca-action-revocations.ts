import { AppError, type CaActionParametersOf, recordAudit } from '@sm2ca/platform';
import { member, type PerformContext, type Performed } from './ca-action-context.ts';
import { publishStatus } from './certificate-events.ts';
import { type Issuer, loadIssuers, storedSerial } from './issuers.ts';

/** Revokes a certificate of the hierarchy; the issuer guard and OCSP signer renewal read the status from here on. */
export async function revoke(
  ctx: PerformContext,
  issuer: Issuer,
  reason: 'cACompromise' | 'superseded',
): Promise<Record<string, unknown>> {
  const filedUnder = issuer.parentId ?? issuer.id;
  const serial = storedSerial(issuer.certificate);
  const { rows } = await ctx.client.query(
    `UPDATE certificates SET status = 'revoked', revoked_at = now(), revocation_reason = $3,
            invalidity_date = CASE WHEN $3 = 'cACompromise' THEN now() END
      WHERE issuer_id = $1 AND serial = $2 AND status <> 'revoked' RETURNING revoked_at`,
    [filedUnder, serial, reason],
  );
  if (!rows[0]) {
    throw new AppError(
      'CERTIFICATE_ALREADY_REVOKED',
      `the certificate of issuer ${issuer.id} is revoked`,
      409,
    );
  }
  await publishStatus(ctx.client, { issuerId: filedUnder, serial, status: 'revoked' });
  await recordAudit(ctx.client, ctx.actor, {
    action: 'issuer.revoke',
    subjectType: 'issuer',
    subjectId: issuer.id,
    after: { issuerId: filedUnder, serial, reason },
  });
  return {
    issuer: issuer.id,
    issuerId: filedUnder,
    serial,
    reason,
    revokedAt: (rows[0].revoked_at as Date).toISOString(),
  };
}

export async function revokeHierarchyCertificate(
  ctx: PerformContext,
  p: CaActionParametersOf<'revoke_hierarchy_certificate'>,
): Promise<Performed> {
  const issuers = await loadIssuers(ctx.client);
  const issuer = member(issuers, p.issuer, ['subordinate', 'ra', 'ocsp'], p.serial);
  // The RA's own signature brought this instruction: revoking its key alone would leave no way to rotate it.
  if (issuer.kind === 'ra' && [...issuers.values()].filter((i) => i.kind === 'ra').at(-1)?.id === issuer.id) {
    throw new AppError('RA_KEY_IN_USE', `issuer ${issuer.id} is the RA key in use; rotate it instead`, 409);
  }
  return { result: await revoke(ctx, issuer, p.reason), signersChanged: true };
}

/** Withdraws a cross-certificate this flow made; the other CA's own certificates are not ours to revoke. */
export async function revokeCrossCertificate(
  ctx: PerformContext,
  p: CaActionParametersOf<'revoke_cross_certificate'>,
): Promise<Performed> {
  const { rows } = await ctx.client.query(
    `UPDATE certificates SET status = 'revoked', revoked_at = now(), revocation_reason = $3,
            invalidity_date = CASE WHEN $3 = 'cACompromise' THEN now() END
      WHERE issuer_id = $1 AND serial = $2 AND subject = $4 AND profile = 'sub-ca'
        AND request_id LIKE 'ca-action:%' AND status <> 'revoked'
      RETURNING revoked_at`,
    [p.issuer, p.serial, p.reason, p.subject],
  );
  if (!rows[0]) {
    throw new AppError('CA_ACTION_STALE', `no unrevoked cross-certificate ${p.serial} of ${p.subject}`, 409);
  }
  await publishStatus(ctx.client, { issuerId: p.issuer, serial: p.serial, status: 'revoked' });
  await recordAudit(ctx.client, ctx.actor, {
    action: 'certificate.revoke',
    subjectType: 'certificate',
    subjectId: `${p.issuer}/${p.serial}`,
    before: { status: 'good' },
    after: { status: 'revoked', reason: p.reason, crossCertificateOf: p.subject },
  });
  return {
    result: { ...p, revokedAt: (rows[0].revoked_at as Date).toISOString() },
    signersChanged: false,
  };
}
