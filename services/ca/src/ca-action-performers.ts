import type { Device } from '@sm2ca/device';
import { sm3, toHex } from '@sm2ca/gm';
import {
  DN_ATTRIBUTE_OIDS,
  type DnAttributeType,
  decodeName,
  issueCertificate,
  nameToString,
  parseCertificate,
} from '@sm2ca/pki';
import {
  type Actor,
  AppError,
  type CaActionKind,
  type CaActionParametersOf,
  type Config,
  issuerUrls,
  recordAudit,
} from '@sm2ca/platform';
import type { PoolClient } from '@sm2ca/store';
import { publishStatus } from './certificate-events.ts';
import { type Issuer, type IssuerKind, loadIssuers, requireUsableIssuer, storedSerial } from './issuers.ts';
import { ceremonySteps, createIssuer } from './key-ceremony.ts';

export interface PerformContext {
  actionId: string;
  client: PoolClient;
  device: Device;
  config: Config;
  actor: Actor;
}

export interface Performed {
  result: Record<string, unknown>;
  /** Whether the OCSP signers should be looked at once this commits (a signer or a CA changed). */
  signersChanged: boolean;
}

function member(
  issuers: Map<string, Issuer>,
  id: string,
  kinds: readonly IssuerKind[],
  serial?: string,
): Issuer {
  const issuer = issuers.get(id);
  if (!issuer || !kinds.includes(issuer.kind)) {
    throw new AppError(
      'CA_ACTION_STALE',
      `issuer ${id} is not a ${kinds.join(' or ')} of the hierarchy`,
      409,
    );
  }
  // What was approved is one certificate: a later one under the same name was not.
  if (serial !== undefined && storedSerial(issuer.certificate) !== serial) {
    throw new AppError('CA_ACTION_STALE', `the certificate of issuer ${id} is no longer ${serial}`, 409);
  }
  return issuer;
}

/** Revokes a certificate of the hierarchy; the issuer guard and OCSP signer renewal read the status from here on. */
async function revoke(
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

async function revokeHierarchyCertificate(
  ctx: PerformContext,
  p: CaActionParametersOf<'revoke_hierarchy_certificate'>,
): Promise<Performed> {
  const issuers = await loadIssuers(ctx.client);
  const issuer = member(issuers, p.issuer, ['subordinate', 'ra', 'ocsp'], p.serial);
  return { result: await revoke(ctx, issuer, p.reason), signersChanged: true };
}

const certified = (issuer: Issuer) => ({
  issuer: issuer.id,
  serial: storedSerial(issuer.certificate),
  certificate: Buffer.from(issuer.certificate.der).toString('base64'),
});

/** A new RA key in the device, certified by the old one's issuer; the old certificate is revoked as superseded. */
async function rotateRaKey(
  ctx: PerformContext,
  p: CaActionParametersOf<'rotate_ra_key'>,
): Promise<Performed> {
  const issuers = await loadIssuers(ctx.client);
  const old = member(issuers, p.retire, ['ra'], p.serial);
  const newest = [...issuers.values()].filter((i) => i.kind === 'ra').at(-1);
  if (newest?.id !== old.id) {
    throw new AppError('CA_ACTION_STALE', `the RA key in use is ${newest?.id}, not ${old.id}`, 409);
  }
  const parentId = old.parentId as string;
  await requireUsableIssuer(ctx.client, issuers, parentId);
  const template = ceremonySteps(ctx.config).find((s) => s.kind === 'ra');
  if (!template) throw new Error('the key ceremony has no RA step');
  let n = 2;
  while ([...issuers.values()].some((i) => i.id === `ra-${n}` || i.keyLabel === `ra-${n}`)) n++;
  const created = await createIssuer(
    (work) => work(ctx.client),
    ctx.device,
    ctx.config,
    issuers,
    { ...template, id: `ra-${n}`, keyLabel: `ra-${n}`, parentId, commonName: `${template.commonName} ${n}` },
    ctx.actor,
  );
  const retired = await revoke(ctx, old, 'superseded');
  return { result: { ...certified(created), retired }, signersChanged: false };
}

/** A new CA key in the device with a certificate from its parent, recorded as an issuer like the ceremony's. */
async function createSubordinateCa(
  ctx: PerformContext,
  p: CaActionParametersOf<'create_subordinate_ca'>,
): Promise<Performed> {
  const issuers = await loadIssuers(ctx.client);
  if ([...issuers.values()].some((i) => i.id === p.id || i.keyLabel === p.id)) {
    throw new AppError('CA_ACTION_STALE', `issuer or key label ${p.id} exists already`, 409);
  }
  member(issuers, p.parent, ['root']);
  await requireUsableIssuer(ctx.client, issuers, p.parent);
  // A key under this label that no issuer owns is not adopted: a subordinate CA starts from a fresh key.
  if (await ctx.device.hasKey(p.id)) {
    throw new AppError('CA_ACTION_STALE', `the device already holds a key labelled ${p.id}`, 409);
  }
  const created = await createIssuer(
    (work) => work(ctx.client),
    ctx.device,
    ctx.config,
    issuers,
    {
      id: p.id,
      kind: 'subordinate',
      parentId: p.parent,
      profile: 'sub-ca',
      keyLabel: p.id,
      commonName: p.commonName,
      days: p.days,
    },
    ctx.actor,
  );
  return { result: certified(created), signersChanged: true };
}

/** The one way a CA key signs anything but a certificate or CRL of its own flows: bytes the approvers saw. */
async function signWithCaKey(
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
async function crossCertify(
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

/** Withdraws a cross-certificate this flow made; the other CA's own certificates are not ours to revoke. */
async function revokeCrossCertificate(
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

type Performer<K extends CaActionKind> = (
  ctx: PerformContext,
  parameters: CaActionParametersOf<K>,
) => Promise<Performed>;

export const caActionPerformers: { [K in CaActionKind]: Performer<K> } = {
  revoke_hierarchy_certificate: revokeHierarchyCertificate,
  rotate_ra_key: rotateRaKey,
  create_subordinate_ca: createSubordinateCa,
  sign_with_ca_key: signWithCaKey,
  cross_certify: crossCertify,
  revoke_cross_certificate: revokeCrossCertificate,
};
